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

/**
 * The project's own engine as a LanguageModel: a Llama/Qwen2 Hugging Face folder run in-process.
 * Calls run one at a time; log-prob requests given together are scored in batches.
 */
export async function createEngineModel(options: EngineModelOptions): Promise<LanguageModel> {
  const { config, weights, tokenizer } = await loadHfModel(options.dir);
  const eos = tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId];
  const model = LlamaModel.fromWeights(config, weights);
  if (options.adapter !== undefined) await mergeLoraAdapter(model, options.adapter);
  const loaded: Loaded = {
    model,
    config,
    tokenizer,
    stopIds: [...new Set([...eosTokenIds(config), ...eos])],
    queue: new PQueue({ concurrency: 1 }),
    modelId: options.adapter === undefined ? `hf:${options.dir}` : `hf:${options.dir}+${options.adapter}`,
    batchSize: options.batchSize ?? 8,
  };
  return {
    provider: "engine",
    modelId: loaded.modelId,
    generate: (request) => generate(loaded, request),
    generateJson: async (request) => {
      const result = await generate(loaded, request);
      result.warnings.push(
        "the engine does not constrain decoding to the schema; the reply is parsed and checked afterwards",
      );
      return { ...result, value: parseJsonReply(result, request.schema, loaded.modelId) };
    },
    logprobs: (requests) => logprobs(loaded, requests),
  };
}

async function generate(loaded: Loaded, request: GenerateRequest): Promise<GenerateResult> {
  const { config, tokenizer } = loaded;
  const warnings: string[] = [];
  const limit = config.maxPositionEmbeddings;
  const maxNewTokens = Math.min(request.maxTokens ?? 1024, limit - 1);
  if (maxNewTokens < (request.maxTokens ?? 1024))
    warnings.push(`maxTokens lowered to ${maxNewTokens}, the model's context`);
  let promptIds = encodePrompt(tokenizer, request);
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
  };
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
