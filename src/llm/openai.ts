import OpenAI from "openai";
import PQueue from "p-queue";
import { z } from "zod";
import { ProviderError, UnsupportedError } from "../errors.js";
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
import { pooledFetch } from "./http.js";
import { parseJsonReply } from "./json-reply.js";
import { isRetryableStatus, parseRetryAfter, withRetry, type RetryEvent, type RetryPolicy } from "./retry.js";

/**
 * Any OpenAI-compatible server: vLLM, SGLang, llama.cpp server, Ollama, OpenAI itself.
 * Generation goes through chat completions (messages) or legacy completions (raw prompt);
 * log-probs of a given continuation come from legacy completions with `echo`.
 */
export interface OpenAIModelOptions {
  baseURL: string;
  model: string;
  /** Read from the environment by the caller; never logged. */
  apiKey?: string;
  /** Requests in flight at once. */
  concurrency?: number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onRetry?: (event: RetryEvent) => void;
}

export function createOpenAIModel(options: OpenAIModelOptions): LanguageModel {
  const concurrency = options.concurrency ?? 16;
  const http = pooledFetch(concurrency);
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey ?? "not-needed",
    maxRetries: 0, // retries are ours (src/llm/retry.ts), so one policy serves every backend
    timeout: options.timeoutMs ?? 120_000,
    fetch: http.fetch,
  });
  const queue = new PQueue({ concurrency });
  const model = options.model;

  const call = <T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    queue.add(() =>
      withRetry(() => send().catch((error: unknown) => Promise.reject(toProviderError(error))), {
        policy: options.retry,
        signal,
        onRetry: options.onRetry,
      }),
    ) as Promise<T>;

  async function generate(request: GenerateRequest): Promise<GenerateResult> {
    const warnings: string[] = [];
    if (request.topK !== undefined) warnings.push("topK is not part of the OpenAI API; sent as top_k in the body");
    const sampling = {
      model,
      max_tokens: request.maxTokens ?? 1024,
      temperature: request.temperature ?? 0,
      ...(request.topP !== undefined && { top_p: request.topP }),
      ...(request.seed !== undefined && { seed: request.seed }),
      ...(request.stop?.length && { stop: request.stop }),
      ...(request.topK !== undefined && { top_k: request.topK }),
      ...request.providerOptions,
    };
    if (request.messages) {
      const response = await call(
        () => client.chat.completions.create({ ...sampling, messages: request.messages! }, { signal: request.signal }),
        request.signal,
      );
      const choice = response.choices[0];
      if (!choice) throw new ProviderError(`${options.baseURL}: the response has no choices`, { isRetryable: true });
      return {
        text: choice.message.content ?? "",
        finishReason: mapFinishReason(choice.finish_reason),
        usage: {
          inputTokens: response.usage?.prompt_tokens ?? 0,
          outputTokens: response.usage?.completion_tokens ?? 0,
        },
        warnings,
      };
    }
    if (request.prompt === undefined) throw new UnsupportedError("generate needs either messages or prompt");
    const response = await call(
      () => client.completions.create({ ...sampling, prompt: request.prompt! }, { signal: request.signal }),
      request.signal,
    );
    const choice = response.choices[0];
    if (!choice) throw new ProviderError(`${options.baseURL}: the response has no choices`, { isRetryable: true });
    return {
      text: choice.text,
      finishReason: mapFinishReason(choice.finish_reason),
      usage: { inputTokens: response.usage?.prompt_tokens ?? 0, outputTokens: response.usage?.completion_tokens ?? 0 },
      warnings,
    };
  }

  async function generateJson<T>(request: GenerateJsonRequest<T>): Promise<GenerateJsonResult<T>> {
    const messages = request.messages ?? [{ role: "user" as const, content: request.prompt ?? "" }];
    const result = await generate({
      ...request,
      messages,
      providerOptions: {
        response_format: {
          type: "json_schema",
          json_schema: { name: request.schemaName ?? "answer", schema: z.toJSONSchema(request.schema), strict: true },
        },
        ...request.providerOptions,
      },
    });
    return { ...result, value: parseJsonReply(result, request.schema, `${options.baseURL} (${model})`) };
  }

  async function logprobs(requests: LogprobRequest[]): Promise<LogprobResult[]> {
    return Promise.all(
      requests.map(async ({ context, continuation, signal }) => {
        const response = await call(
          () =>
            client.completions.create(
              // max_tokens 1 rather than 0: some servers refuse 0. The generated token lies past the text and is ignored.
              { model, prompt: context + continuation, echo: true, max_tokens: 1, logprobs: 1, temperature: 0 },
              { signal },
            ),
          signal,
        );
        const lp = response.choices[0]?.logprobs;
        if (!lp?.tokens || !lp.token_logprobs || !lp.text_offset) {
          throw new UnsupportedError(
            `${options.baseURL} (${model}) returned no prompt log-probs; it needs legacy completions with echo and logprobs (vLLM, SGLang and llama.cpp server have them)`,
          );
        }
        return sumContinuation(
          {
            tokens: lp.tokens,
            tokenLogprobs: lp.token_logprobs,
            textOffset: lp.text_offset,
            topLogprobs: lp.top_logprobs,
          },
          context.length,
          context.length + continuation.length,
        );
      }),
    );
  }

  return {
    provider: "openai-compatible",
    modelId: `${options.baseURL}#${model}`,
    generate,
    generateJson,
    logprobs,
    close: async () => {
      await queue.onIdle();
      await http.close();
    },
  };
}

/** Sum the log-probs of the tokens that start inside [from, to) of the echoed text. */
export function sumContinuation(
  lp: {
    tokens: string[];
    tokenLogprobs: ReadonlyArray<number | null>;
    textOffset: number[];
    topLogprobs?: ReadonlyArray<Record<string, number> | null> | null;
  },
  from: number,
  to: number,
): LogprobResult {
  let logprob = 0;
  let isGreedy = true;
  let tokenCount = 0;
  lp.tokens.forEach((token, i) => {
    const offset = lp.textOffset[i] ?? -1;
    if (offset < from || offset >= to) return;
    const value = lp.tokenLogprobs[i];
    if (value === null || value === undefined) return;
    logprob += value;
    tokenCount++;
    const top = lp.topLogprobs?.[i];
    if (top) {
      const best = Object.entries(top).reduce((a, b) => (b[1] > a[1] ? b : a));
      if (best[0] !== token) isGreedy = false;
    }
  });
  return { logprob, isGreedy, tokenCount };
}

function toProviderError(error: unknown): unknown {
  if (error instanceof ProviderError) return error;
  if (error instanceof OpenAI.APIUserAbortError) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return new ProviderError(`connection failed: ${error.message}`, { isRetryable: true, cause: error });
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    return new ProviderError(`HTTP ${error.status}: ${error.message}`, {
      status: error.status,
      isRetryable: isRetryableStatus(error.status),
      retryAfterMs: parseRetryAfter(error.headers),
      cause: error,
    });
  }
  return error;
}
