import { stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  getLlama,
  LlamaChat,
  LlamaCompletion,
  LlamaLogLevel,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type ControlledEvaluateInputItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { z } from "zod";
import { splitContinuation } from "./continuation-split.js";
import { parseJsonReply } from "./json-reply.js";
import { passThrough, type GenerationSettings } from "./llama-cpp-options.js";
import { ProviderError, SeapoError, UnsupportedError } from "../errors.js";
import {
  mapFinishReason,
  type ChatMessage,
  type LanguageModel,
  type LogprobRequest,
  type LogprobResult,
} from "./provider.js";
import type { GenerateJsonRequest, GenerateJsonResult, GenerateRequest, GenerateResult } from "./provider.js";

/**
 * A GGUF model run in-process by node-llama-cpp on the CPU. Requests share one context with several
 * sequences: each request holds one sequence while it runs (the rest queue), and node-llama-cpp
 * batches the running sequences into the same decode calls.
 *
 * Tokenization: raw prompts and log-prob texts are tokenized with special tokens parsed (as vLLM and
 * llama.cpp's server do), and get the model's BOS when its metadata asks for one.
 */
export interface LlamaCppModelOptions {
  ggufPath: string;
  /** Tokens per sequence. Default: the smaller of 1024 and the model's training context. */
  contextSize?: number;
  /** Requests run at once, one context sequence each. Default 4. */
  sequences?: number;
  /**
   * CPU threads for evaluation. Default: 1 for files under 64 MiB, else node-llama-cpp's choice (the
   * machine's math cores). ggml's worker threads spin while they wait; on a busy machine a tiny model
   * with 2 threads ran 1000x slower than with one (100 tokens: 73 s against 73 ms).
   */
  threads?: number;
  /** Reported as `modelId`. Default: general.name from the file, else the file name. */
  modelId?: string;
}

const DEFAULT_MAX_TOKENS = 1024;
const SMALL_MODEL_BYTES = 64 * 2 ** 20;

export async function createLlamaCppModel(options: LlamaCppModelOptions): Promise<LanguageModel> {
  const source = options.ggufPath;
  let llama: Llama;
  let model: LlamaModel | undefined;
  let context: LlamaContext;
  try {
    const threads = options.threads ?? ((await stat(options.ggufPath)).size < SMALL_MODEL_BYTES ? 1 : undefined);
    llama = await sharedLlama();
    model = await llama.loadModel({ modelPath: options.ggufPath });
    context = await model.createContext({
      contextSize: options.contextSize ?? Math.min(1024, model.trainContextSize),
      sequences: options.sequences ?? 4,
      ...(threads !== undefined && { threads }),
    });
  } catch (error) {
    await model?.dispose();
    throw new ProviderError(`${source}: cannot load the model: ${messageOf(error)}`, {
      isRetryable: false,
      cause: error,
    });
  }
  const instance = new LlamaCppModel(llama, model, context, options.modelId ?? modelName(model, source), source);
  // Own properties, not prototype methods: callers spread a LanguageModel ({ ...model, cacheStats }).
  return {
    provider: instance.provider,
    modelId: instance.modelId,
    generate: (request) => instance.generate(request),
    generateJson: (request) => instance.generateJson(request),
    logprobs: (requests) => instance.logprobs(requests),
    close: () => instance.close(),
  };
}

class LlamaCppModel implements LanguageModel {
  readonly provider = "llama-cpp";
  private readonly pool: SequencePool;
  private readonly chatWrapper: ChatWrapper;
  private readonly grammars = new WeakMap<z.ZodType, Promise<LlamaGrammar>>();

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly modelId: string,
    private readonly source: string,
  ) {
    this.pool = new SequencePool(Array.from({ length: context.totalSequences }, () => context.getSequence()));
    this.chatWrapper = chatWrapperFor(model);
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.run(request, undefined);
  }

  async generateJson<T>(request: GenerateJsonRequest<T>): Promise<GenerateJsonResult<T>> {
    const grammar = await this.grammarFor(request.schema);
    const result = await this.run(request, grammar);
    const label = `${this.modelId}${request.schemaName ? ` (${request.schemaName})` : ""}`;
    return { ...result, value: parseJsonReply(result, request.schema, label) };
  }

  async logprobs(requests: LogprobRequest[]): Promise<LogprobResult[]> {
    return Promise.all(
      requests.map((request) =>
        this.pool.use(request.signal, (sequence) =>
          guard(this.source, request.signal, () => this.score(sequence, request)),
        ),
      ),
    );
  }

  /** Frees the context and the model; the shared Llama backend stays for the next model. */
  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  /** Generate from `messages` through the chat template, or from a raw `prompt`, optionally under a grammar. */
  private async run(request: GenerateRequest, grammar: LlamaGrammar | undefined): Promise<GenerateResult> {
    if ((request.messages === undefined) === (request.prompt === undefined)) {
      throw new UnsupportedError("generate needs exactly one of messages or prompt");
    }
    const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (!Number.isInteger(maxTokens) || maxTokens < 1)
      throw new UnsupportedError(`maxTokens must be a positive integer, got ${maxTokens}`);
    const warnings: string[] = [];
    const usage = { inputTokens: 0, outputTokens: 0 };
    const settings: GenerationSettings = {
      temperature: request.temperature ?? 0,
      // Unset topK/topP mean "off", as in the OpenAI API (node-llama-cpp would default to 40 and 0.95).
      topK: request.topK ?? 0,
      topP: request.topP ?? 1,
      ...(request.seed !== undefined && { seed: request.seed }),
      ...(request.stop?.length && { customStopTriggers: request.stop }),
      repeatPenalty: false, // documented default 1.1 (3.22.1 applies none when unset); any penalty breaks greedy = argmax
      ...(grammar && { grammar }),
      ...passThrough(request.providerOptions, warnings),
      signal: request.signal,
      ...(request.onText && { onTextChunk: request.onText }),
      onToken: (tokens: Token[]) => {
        usage.outputTokens += tokens.length;
      },
    };
    /** The largest maxTokens that fits after `inputTokens`: past the context, node-llama-cpp would silently drop the prompt's start. */
    const fit = (inputTokens: number): number => {
      usage.inputTokens = inputTokens;
      const room = this.context.contextSize - 1 - inputTokens;
      if (room < 1) {
        throw new ProviderError(
          `${this.modelId}: the prompt has ${inputTokens} tokens; the context holds ${this.context.contextSize}`,
          {
            isRetryable: false,
          },
        );
      }
      if (room < maxTokens) warnings.push(`maxTokens lowered from ${maxTokens} to ${room} to fit the context`);
      return Math.min(room, maxTokens);
    };

    return this.pool.use(request.signal, (sequence) =>
      guard(this.source, request.signal, async () => {
        const { text, stopReason } = request.messages
          ? await this.chatTurn(sequence, request.messages, settings, fit)
          : await this.complete(sequence, request.prompt!, settings, fit);
        return { text, finishReason: mapFinishReason(stopReason), usage, warnings };
      }),
    );
  }

  private async chatTurn(
    sequence: LlamaContextSequence,
    messages: readonly ChatMessage[],
    settings: GenerationSettings,
    fit: (inputTokens: number) => number,
  ): Promise<{ text: string; stopReason: string }> {
    const history = toChatHistory(messages);
    const { contextText } = this.chatWrapper.generateContextState({ chatHistory: history });
    const maxTokens = fit(contextText.tokenize(this.model.tokenizer).length);
    const chat = new LlamaChat({
      contextSequence: sequence,
      chatWrapper: this.chatWrapper,
      autoDisposeSequence: false,
    });
    try {
      const { response, metadata } = await chat.generateResponse(history, { ...settings, maxTokens });
      return { text: response, stopReason: metadata.stopReason };
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  }

  private async complete(
    sequence: LlamaContextSequence,
    prompt: string,
    settings: GenerationSettings,
    fit: (inputTokens: number) => number,
  ): Promise<{ text: string; stopReason: string }> {
    const tokens = this.model.tokenize(prompt, true);
    const bos = this.model.tokens.bos;
    // LlamaCompletion itself prepends BOS when the model asks for it.
    const prependsBos = this.model.tokens.shouldPrependBosToken && bos !== null;
    if (tokens.length === 0 && !prependsBos) {
      // Nothing to condition on: start from BOS, as after a document boundary.
      if (bos === null)
        throw new ProviderError(`${this.modelId}: an empty prompt needs a BOS token, and the model has none`, {
          isRetryable: false,
        });
      tokens.push(bos);
    }
    const maxTokens = fit(tokens.length + (prependsBos ? 1 : 0));
    const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
    try {
      const { response, metadata } = await completion.generateCompletionWithMeta(tokens, {
        ...settings,
        maxTokens,
        disableContextShift: true,
      });
      return { text: response, stopReason: metadata.stopReason };
    } finally {
      completion.dispose({ disposeSequence: false });
    }
  }

  /**
   * Sum of log p(continuation token | everything before it), teacher-forced in one controlledEvaluate.
   * Per scored position we ask for the target's logit, the top logit (includeTop: 1; includeMax is
   * ignored by node-llama-cpp 3.22) and totalLogitWeight = Σ exp(logit − top logit) over the whole
   * vocabulary, so log p(target) = logit[target] − top − ln(totalLogitWeight). No sampling options are
   * passed: with them the returned distribution is cut to the sampler's top-k.
   */
  private async score(sequence: LlamaContextSequence, request: LogprobRequest): Promise<LogprobResult> {
    const { contextTokens, continuationTokens } = this.splitTokens(request.context, request.continuation);
    if (continuationTokens.length === 0) return { logprob: 0, isGreedy: true, tokenCount: 0 };
    const all = [...contextTokens, ...continuationTokens];
    if (all.length > this.context.contextSize - 1) {
      throw new ProviderError(
        `${this.modelId}: context and continuation need ${all.length} tokens; the context holds ${this.context.contextSize}`,
        {
          isRetryable: false,
        },
      );
    }
    const firstScored = contextTokens.length - 1; // the position whose output predicts the first continuation token
    // Keep the cached prefix this sequence already evaluated, up to the first position we need logits for.
    const keep = Math.min(sequence.compareContextTokens(all).firstDifferentIndex, firstScored);
    if (sequence.nextTokenIndex > keep)
      await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
    request.signal?.throwIfAborted();

    // The last token is never fed: nothing after it is scored.
    const input = all.slice(keep, -1).map((token, i): ControlledEvaluateInputItem => {
      const position = keep + i;
      if (position < firstScored) return token;
      const target = all[position + 1]!;
      return [
        token,
        { generateNext: { logits: { filter: { tokens: [target], includeTop: 1 } }, totalLogitWeight: true } },
      ];
    });
    const outputs = await sequence.controlledEvaluate(input);

    let logprob = 0;
    let isGreedy = true;
    for (let position = firstScored; position < all.length - 1; position++) {
      const next = outputs[position - keep]?.next;
      const target = all[position + 1]!;
      const targetLogit = next?.logits?.get(target);
      if (next?.logits === undefined || targetLogit === undefined || next.totalLogitWeight === undefined) {
        throw new ProviderError(`${this.modelId}: node-llama-cpp returned no logits for position ${position}`, {
          isRetryable: false,
        });
      }
      const top = Math.max(...next.logits.values());
      logprob += targetLogit - top - Math.log(next.totalLogitWeight);
      if (targetLogit < top) isGreedy = false;
    }
    return { logprob, isGreedy, tokenCount: continuationTokens.length };
  }

  /** lm-evaluation-harness's split (continuation-split.ts); special tokens are parsed, and BOS leads where the model asks. */
  private splitTokens(context: string, continuation: string): { contextTokens: Token[]; continuationTokens: Token[] } {
    const bos = this.model.tokens.bos;
    const prefix: Token[] = bos !== null && this.model.tokens.shouldPrependBosToken ? [bos] : [];
    const noStart = () =>
      new ProviderError(`${this.modelId}: scoring after an empty context needs a BOS token, and the model has none`, {
        isRetryable: false,
      });
    const split = splitContinuation(context, continuation, {
      encode: (text) => [...prefix, ...this.model.tokenize(text, true)],
      encodeBare: (text) => this.model.tokenize(text, true),
      emptyContextStart: () => {
        if (bos === null) throw noStart();
        return bos;
      },
    });
    if (split.contextTokens.length === 0) throw noStart();
    return split;
  }

  private grammarFor(schema: z.ZodType): Promise<LlamaGrammar> {
    let grammar = this.grammars.get(schema);
    if (!grammar) {
      let jsonSchema: unknown;
      try {
        jsonSchema = z.toJSONSchema(schema);
      } catch (error) {
        throw new UnsupportedError(
          `${this.modelId}: the schema has no JSON Schema form for a grammar: ${messageOf(error)}`,
        );
      }
      grammar = this.llama
        .createGrammarForJsonSchema(jsonSchema as Parameters<Llama["createGrammarForJsonSchema"]>[0])
        .catch((error: unknown) => {
          throw new UnsupportedError(
            `${this.modelId}: node-llama-cpp cannot turn the schema into a grammar: ${messageOf(error)}`,
          );
        });
      this.grammars.set(schema, grammar);
    }
    return grammar;
  }
}

let llamaBackend: Promise<Llama> | undefined;

/**
 * One node-llama-cpp backend per process, shared by every model: getLlama took 1.7-1.9 s per call on
 * this machine (it is not cached), and the instance holds no event-loop handles, so it is never disposed.
 */
function sharedLlama(): Promise<Llama> {
  llamaBackend ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error }).catch((error: unknown) => {
    llamaBackend = undefined;
    throw error;
  });
  return llamaBackend;
}

function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history = messages.map((message): ChatHistoryItem => {
    switch (message.role) {
      case "system":
        return { type: "system", text: message.content };
      case "user":
        return { type: "user", text: message.content };
      case "assistant":
        return { type: "model", response: [message.content] };
    }
  });
  // An empty model turn at the end is what LlamaChat fills in.
  history.push({ type: "model", response: [] });
  return history;
}

/**
 * Context sequences handed out one request at a time; the rest wait in arrival order. A waiter whose
 * signal aborts leaves the queue.
 */
class SequencePool {
  private readonly waiting: Array<(sequence: LlamaContextSequence) => void> = [];

  constructor(private readonly idle: LlamaContextSequence[]) {}

  async use<T>(signal: AbortSignal | undefined, work: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
    const sequence = await this.acquire(signal);
    try {
      return await work(sequence);
    } finally {
      const next = this.waiting.shift();
      if (next) next(sequence);
      else this.idle.push(sequence);
    }
  }

  private acquire(signal: AbortSignal | undefined): Promise<LlamaContextSequence> {
    signal?.throwIfAborted();
    const sequence = this.idle.pop();
    if (sequence) return Promise.resolve(sequence);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(handOver);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal!.reason);
      };
      const handOver = (sequence: LlamaContextSequence): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve(sequence);
      };
      this.waiting.push(handOver);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Our own errors and aborts pass through; anything node-llama-cpp throws becomes a non-retryable ProviderError. */
async function guard<T>(source: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SeapoError || signal?.aborted) throw error;
    throw new ProviderError(`${source}: ${messageOf(error)}`, { isRetryable: false, cause: error });
  }
}

/**
 * The file's own Jinja chat template when it has one, rendered as written: node-llama-cpp's built-in
 * look-alikes can differ in details (its ChatML wrapper prepends BOS, which Qwen's template does not).
 * Files without a usable template get node-llama-cpp's best guess.
 */
function chatWrapperFor(model: LlamaModel): ChatWrapper {
  if (model.fileInfo.metadata?.tokenizer?.chat_template) {
    try {
      return resolveChatWrapper(model, { type: "jinjaTemplate", warningLogs: false });
    } catch {
      // fall through to node-llama-cpp's choice
    }
  }
  return resolveChatWrapper(model, { warningLogs: false });
}

function modelName(model: LlamaModel, path: string): string {
  const name = model.fileInfo.metadata?.general?.name;
  return typeof name === "string" && name !== "" ? name : basename(path);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
