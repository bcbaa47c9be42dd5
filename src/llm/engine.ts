import PQueue from "p-queue";
import { UnsupportedError } from "../errors.js";
import { loadHfModel } from "../engine/io/index.js";
import { eosTokenIds } from "../engine/models/config.js";
import { generate as generateTokens, scoreContinuations } from "../engine/models/generate.js";
import { LlamaModel } from "../engine/models/llama.js";
import { parseJsonReply } from "./json-reply.js";
import {
  mapFinishReason,
  type GenerateJsonRequest,
  type GenerateJsonResult,
  type GenerateRequest,
  type GenerateResult,
  type LanguageModel,
  type LogprobRequest,
  type LogprobResult,
} from "./provider.js";

/**
 * The project's own engine as a LanguageModel: a Llama/Qwen2 Hugging Face folder run in-process.
 * The engine computes on the CPU threads it owns, so calls run one at a time; log-prob requests
 * given together are scored in batches.
 */
export async function createEngineModel(options: { dir: string; batchSize?: number }): Promise<LanguageModel> {
  const { config, weights, tokenizer } = await loadHfModel(options.dir);
  const model = LlamaModel.fromWeights(config, weights);
  const stopIds = [
    ...new Set([...eosTokenIds(config), ...(tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId])]),
  ];
  const queue = new PQueue({ concurrency: 1 });
  const modelId = `hf:${options.dir}`;

  /** A raw prompt is encoded as the tokenizer does by default (BOS where the model uses one). */
  const encodePrompt = (request: GenerateRequest): number[] => {
    if (request.messages) return tokenizer.encodeChat(request.messages, { addGenerationPrompt: true });
    if (request.prompt === undefined) throw new UnsupportedError("generate needs either messages or prompt");
    return tokenizer.encode(request.prompt, { addSpecialTokens: true });
  };

  async function generate(request: GenerateRequest): Promise<GenerateResult> {
    const warnings: string[] = [];
    const limit = config.maxPositionEmbeddings;
    const maxNewTokens = Math.min(request.maxTokens ?? 1024, limit - 1);
    if (maxNewTokens < (request.maxTokens ?? 1024))
      warnings.push(`maxTokens lowered to ${maxNewTokens}, the model's context`);
    let promptIds = encodePrompt(request);
    // As lm-evaluation-harness does: keep the end of a prompt too long for the context.
    if (promptIds.length + maxNewTokens > limit) {
      warnings.push(
        `the prompt was cut from ${promptIds.length} to its last ${limit - maxNewTokens} tokens to fit the context`,
      );
      promptIds = promptIds.slice(promptIds.length - (limit - maxNewTokens));
    }
    const [generation] = (await queue.add(() =>
      generateTokens(model, [promptIds], {
        maxNewTokens,
        temperature: request.temperature ?? 0,
        topK: request.topK,
        topP: request.topP,
        seed: request.seed,
        stopTokenIds: stopIds,
        padTokenId: tokenizer.eosTokenId ?? 0,
      }),
    )) as ReturnType<typeof generateTokens>;
    let text = tokenizer.decode(generation!.tokens, { skipSpecialTokens: true });
    let finish = generation!.finishReason;
    // Stop strings are applied to the text, as servers do.
    for (const stop of request.stop ?? []) {
      const at = text.indexOf(stop);
      if (at >= 0) {
        text = text.slice(0, at);
        finish = "stop";
      }
    }
    return {
      text,
      finishReason: mapFinishReason(finish),
      usage: { inputTokens: promptIds.length, outputTokens: generation!.tokens.length },
      warnings,
    };
  }

  async function generateJson<T>(request: GenerateJsonRequest<T>): Promise<GenerateJsonResult<T>> {
    const result = await generate(request);
    result.warnings.push(
      "the engine does not constrain decoding to the schema; the reply is parsed and checked afterwards",
    );
    return { ...result, value: parseJsonReply(result, request.schema, modelId) };
  }

  async function logprobs(requests: LogprobRequest[]): Promise<LogprobResult[]> {
    const encoded = requests.map(({ context, continuation }) => fitContext(splitTokens(context, continuation)));
    const scores = (await queue.add(() =>
      scoreContinuations(model, encoded, { batchSize: options.batchSize ?? 8 }),
    )) as ReturnType<typeof scoreContinuations>;
    return scores.map((score, i) => ({ ...score, tokenCount: encoded[i]!.continuationIds.length }));
  }

  /** As lm-evaluation-harness does: drop the start of a context too long for the model. */
  function fitContext(request: { contextIds: number[]; continuationIds: number[] }) {
    const room = config.maxPositionEmbeddings + 1 - request.continuationIds.length;
    if (room < 1)
      throw new UnsupportedError(
        `${modelId}: a continuation of ${request.continuationIds.length} tokens does not fit the context`,
      );
    return request.contextIds.length <= room
      ? request
      : { ...request, contextIds: request.contextIds.slice(request.contextIds.length - room) };
  }

  /**
   * Context and continuation tokens as lm-evaluation-harness makes them: encode the whole text and
   * split at the context's length, so a token spanning the boundary goes to the continuation; an
   * empty context becomes BOS (or EOS when the model has no BOS).
   */
  function splitTokens(context: string, continuation: string) {
    const moved = context.length - context.trimEnd().length;
    const ctx = context.slice(0, context.length - moved);
    const cont = context.slice(context.length - moved) + continuation;
    const whole = tokenizer.encode(ctx + cont, { addSpecialTokens: true });
    const contextIds = ctx === "" ? [] : tokenizer.encode(ctx, { addSpecialTokens: true });
    let continuationIds = whole.slice(contextIds.length);
    if (contextIds.length === 0) {
      const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
      if (start === undefined)
        throw new UnsupportedError(`${modelId}: scoring after an empty context needs a BOS or EOS token`);
      continuationIds = tokenizer.encode(cont, { addSpecialTokens: false });
      return { contextIds: [start], continuationIds };
    }
    return { contextIds, continuationIds };
  }

  return { provider: "engine", modelId, generate, generateJson, logprobs };
}
