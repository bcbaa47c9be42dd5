import PQueue from "p-queue";
import {
  eosTokenIds,
  mergeLoraAdapter,
  generate as generateTokens,
  type HfTokenizer,
  LlamaModel,
  loadHfModel,
  type ModelConfig,
  scoreContinuations,
} from "../engine/index.js";
import { UnsupportedError } from "../errors.js";
import { splitContinuation } from "./continuation-split.js";
import { scoreTokenSequences, type TokenScore } from "./engine-token-scores.js";
import { TextStream } from "./text-stream.js";
import { parseJsonReply } from "./json-reply.js";
import { mapFinishReason, type GenerateRequest, type GenerateResult, type LanguageModel } from "./provider.js";

/** A loaded model folder with what every call needs. */
interface Loaded {
  model: LlamaModel;
  config: ModelConfig;
  tokenizer: HfTokenizer;
  stopIds: number[];
  /** The engine computes on the CPU threads it owns, so calls run one at a time. */
  queue: PQueue;
  modelId: string;
  batchSize: number;
}

type ScoreRequest = Parameters<LanguageModel["logprobs"]>[0][number];
type Split = { contextIds: number[]; continuationIds: number[] };

export interface EngineModelOptions {
  /** A Llama/Qwen2 Hugging Face folder. */
  dir: string;
  /** Log-prob requests per forward. Default 8. */
  batchSize?: number;
  /** A PEFT LoRA adapter folder trained on `dir`, merged into the weights once at load. */
  adapter?: string;
}

/** A generation with the ids behind it (what `seapo serve` returns as tokens). */
export interface EngineGeneration extends GenerateResult {
  /** The prompt as the model saw it, after any cut to fit the context. */
  promptIds: number[];
  /** Every generated id, the one that completed a stop string included. */
  tokenIds: number[];
}

/** The engine provider with the token-level access an OpenAI-compatible server over it needs. */
export interface EngineHandle {
  model: LanguageModel;
  tokenizer: HfTokenizer;
  contextLength: number;
  /** As model.generate, from `promptIds` when given (a server's token prompt), else from the request's text. */
  generateIds(request: GenerateRequest, promptIds?: number[]): Promise<EngineGeneration>;
  /** Every token's log-prob and `top` alternatives (scoreTokenSequences), queued with the other calls. */
  scoreTokens(sequences: number[][], top: number): Promise<TokenScore[][]>;
}

/**
 * The project's own engine as a LanguageModel: a Llama/Qwen2 Hugging Face folder run in-process.
 * Calls run one at a time; log-prob requests given together are scored in batches.
 */
export async function createEngineModel(options: EngineModelOptions): Promise<LanguageModel> {
  return (await openEngine(options)).model;
}

/** createEngineModel, with the tokenizer and token-level generation and scoring beside the model. */
export async function openEngine(options: EngineModelOptions): Promise<EngineHandle> {
  const { config, weights, tokenizer } = await loadHfModel(options.dir);
  const eos = tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId];
  const weightsModel = LlamaModel.fromWeights(config, weights);
  if (options.adapter !== undefined) await mergeLoraAdapter(weightsModel, options.adapter);
  const loaded: Loaded = {
    model: weightsModel,
    config,
    tokenizer,
    stopIds: [...new Set([...eosTokenIds(config), ...eos])],
    queue: new PQueue({ concurrency: 1 }),
    modelId: options.adapter === undefined ? `hf:${options.dir}` : `hf:${options.dir}+${options.adapter}`,
    batchSize: options.batchSize ?? 8,
  };
  const model: LanguageModel = {
    provider: "engine",
    modelId: loaded.modelId,
    generate: async (request) => withoutIds(await generate(loaded, request)),
    generateJson: async (request) => {
      const result = withoutIds(await generate(loaded, request));
      result.warnings.push(
        "the engine does not constrain decoding to the schema; the reply is parsed and checked afterwards",
      );
      return { ...result, value: parseJsonReply(result, request.schema, loaded.modelId) };
    },
    logprobs: (requests) => logprobs(loaded, requests),
  };
  return {
    model,
    tokenizer,
    contextLength: config.maxPositionEmbeddings,
    generateIds: (request, promptIds) => generate(loaded, request, promptIds),
    scoreTokens: (sequences, top) =>
      loaded.queue.add(() =>
        scoreTokenSequences(loaded.model, sequences, {
          top,
          batchSize: loaded.batchSize,
          contextLength: config.maxPositionEmbeddings,
        }),
      ) as Promise<TokenScore[][]>,
  };
}

async function generate(loaded: Loaded, request: GenerateRequest, givenIds?: number[]): Promise<EngineGeneration> {
  const { config, tokenizer } = loaded;
  const warnings: string[] = [];
  const limit = config.maxPositionEmbeddings;
  const maxNewTokens = Math.min(request.maxTokens ?? 1024, limit - 1);
  if (maxNewTokens < (request.maxTokens ?? 1024))
    warnings.push(`maxTokens lowered to ${maxNewTokens}, the model's context`);
  let promptIds = givenIds ?? encodePrompt(tokenizer, request);
  // As lm-evaluation-harness does: keep the end of a prompt too long for the context.
  if (promptIds.length + maxNewTokens > limit) {
    warnings.push(
      `the prompt was cut from ${promptIds.length} to its last ${limit - maxNewTokens} tokens to fit the context`,
    );
    promptIds = promptIds.slice(promptIds.length - (limit - maxNewTokens));
  }
  // Stop strings end generation as soon as the text holds one, as servers do; the text stops before it.
  const stream = new TextStream(continuationDecoder(tokenizer, promptIds), request.stop ?? [], request.onText);
  const tokens: number[] = [];
  const [generation] = (await loaded.queue.add(() =>
    generateTokens(loaded.model, [promptIds], {
      maxNewTokens,
      temperature: request.temperature ?? 0,
      topK: request.topK,
      topP: request.topP,
      seed: request.seed,
      stopTokenIds: loaded.stopIds,
      padTokenId: tokenizer.eosTokenId ?? 0,
      onToken: (_row, token) => {
        tokens.push(token);
        return stream.update(tokens);
      },
    }),
  )) as ReturnType<typeof generateTokens>;
  const text = stream.finish();
  return {
    text,
    finishReason: mapFinishReason(stream.stopped ? "stop_sequence" : generation!.finishReason),
    usage: { inputTokens: promptIds.length, outputTokens: generation!.tokens.length },
    warnings,
    promptIds,
    tokenIds: generation!.tokens,
  };
}

/** The provider's result: the ids stay out of caches and files. */
function withoutIds({ promptIds, tokenIds, ...result }: EngineGeneration): GenerateResult {
  void promptIds;
  void tokenIds;
  return result;
}

/**
 * The text of generated ids as it reads after the prompt. SentencePiece decoders drop the space in
 * front of a text's first word, so the ids are decoded behind the prompt's last few tokens and
 * the prompt's own text is cut off.
 */
function continuationDecoder(tokenizer: HfTokenizer, promptIds: readonly number[]): (ids: readonly number[]) => string {
  const anchor = promptIds.slice(-4);
  const before = tokenizer.decode(anchor, { skipSpecialTokens: true });
  return (ids) => {
    const text = tokenizer.decode([...anchor, ...ids], { skipSpecialTokens: true });
    return text.startsWith(before) ? text.slice(before.length) : tokenizer.decode(ids, { skipSpecialTokens: true });
  };
}

/** A raw prompt is encoded as the tokenizer does by default (BOS where the model uses one). */
function encodePrompt(tokenizer: HfTokenizer, request: GenerateRequest): number[] {
  if (request.messages) return tokenizer.encodeChat(request.messages, { addGenerationPrompt: true });
  if (request.prompt === undefined) throw new UnsupportedError("generate needs either messages or prompt");
  return tokenizer.encode(request.prompt, { addSpecialTokens: true });
}

async function logprobs(loaded: Loaded, requests: ScoreRequest[]) {
  const encoded = requests.map(({ context, continuation }) =>
    fitContext(loaded, splitTokens(loaded, context, continuation)),
  );
  const scores = (await loaded.queue.add(() =>
    scoreContinuations(loaded.model, encoded, { batchSize: loaded.batchSize }),
  )) as ReturnType<typeof scoreContinuations>;
  return scores.map((score, i) => ({ ...score, tokenCount: encoded[i]!.continuationIds.length }));
}

function splitTokens({ tokenizer, modelId }: Loaded, context: string, continuation: string): Split {
  const { contextTokens, continuationTokens } = splitContinuation(context, continuation, {
    encode: (text) => tokenizer.encode(text, { addSpecialTokens: true }),
    encodeBare: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
    emptyContextStart: () => {
      const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
      if (start === undefined)
        throw new UnsupportedError(`${modelId}: scoring after an empty context needs a BOS or EOS token`);
      return start;
    },
  });
  return { contextIds: contextTokens, continuationIds: continuationTokens };
}

/** As lm-evaluation-harness does: drop the start of a context too long for the model. */
function fitContext({ config, modelId }: Loaded, split: Split): Split {
  const room = config.maxPositionEmbeddings + 1 - split.continuationIds.length;
  if (room < 1)
    throw new UnsupportedError(
      `${modelId}: a continuation of ${split.continuationIds.length} tokens does not fit the context`,
    );
  return split.contextIds.length <= room
    ? split
    : { ...split, contextIds: split.contextIds.slice(split.contextIds.length - room) };
}
