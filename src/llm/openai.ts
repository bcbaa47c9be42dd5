import OpenAI from "openai";
import PQueue from "p-queue";
import { z } from "zod";
import { ProviderError, UnsupportedError } from "../errors.js";
import { mapFinishReason, type LanguageModel, type LogprobRequest, type LogprobResult } from "./provider.js";
import type { GenerateJsonRequest, GenerateJsonResult, GenerateRequest, GenerateResult } from "./provider.js";
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

/** What every call of one model needs: the client, the request queue with retries, the settings. */
interface Connection {
  client: OpenAI;
  options: OpenAIModelOptions;
  /** Sends through the queue, retrying what the policy allows. */
  call<T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T>;
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
  const call = <T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    queue.add(() =>
      withRetry(() => send().catch((error: unknown) => Promise.reject(toProviderError(error))), {
        policy: options.retry,
        signal,
        onRetry: options.onRetry,
      }),
    ) as Promise<T>;
  const connection: Connection = { client, options, call };
  return {
    provider: "openai-compatible",
    modelId: `${options.baseURL}#${options.model}`,
    generate: (request) => generate(connection, request),
    generateJson: (request) => generateJson(connection, request),
    logprobs: (requests) => Promise.all(requests.map((request) => logprob(connection, request))),
    close: async () => {
      await queue.onIdle();
      await http.close();
    },
  };
}

/** Chat completions for `messages`, legacy completions for a raw `prompt`. */
async function generate({ client, options, call }: Connection, request: GenerateRequest): Promise<GenerateResult> {
  const warnings: string[] = [];
  if (request.topK !== undefined) warnings.push("topK is not part of the OpenAI API; sent as top_k in the body");
  const sampling = {
    model: options.model,
    max_tokens: request.maxTokens ?? 1024,
    temperature: request.temperature ?? 0,
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.seed !== undefined && { seed: request.seed }),
    ...(request.stop?.length && { stop: request.stop }),
    ...(request.topK !== undefined && { top_k: request.topK }),
    ...request.providerOptions,
  };
  const { signal } = request;
  let choice: { text: string; finishReason: string | null } | undefined;
  let usage: OpenAI.CompletionUsage | undefined;
  if (request.messages) {
    const response = await call(
      () => client.chat.completions.create({ ...sampling, messages: request.messages! }, { signal }),
      signal,
    );
    const first = response.choices[0];
    choice = first && { text: first.message.content ?? "", finishReason: first.finish_reason };
    usage = response.usage;
  } else {
    if (request.prompt === undefined) throw new UnsupportedError("generate needs either messages or prompt");
    const response = await call(
      () => client.completions.create({ ...sampling, prompt: request.prompt! }, { signal }),
      signal,
    );
    const first = response.choices[0];
    choice = first && { text: first.text, finishReason: first.finish_reason };
    usage = response.usage;
  }
  if (!choice) throw new ProviderError(`${options.baseURL}: the response has no choices`, { isRetryable: true });
  return {
    text: choice.text,
    finishReason: mapFinishReason(choice.finishReason),
    usage: { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 },
    warnings,
  };
}

/** Generation under the server's JSON-schema response format, checked against the schema afterwards. */
async function generateJson<T>(
  connection: Connection,
  request: GenerateJsonRequest<T>,
): Promise<GenerateJsonResult<T>> {
  const messages = request.messages ?? [{ role: "user" as const, content: request.prompt ?? "" }];
  const result = await generate(connection, {
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
  const { baseURL, model } = connection.options;
  return { ...result, value: parseJsonReply(result, request.schema, `${baseURL} (${model})`) };
}

/** The continuation's log-prob from legacy completions with `echo`. */
async function logprob({ client, options, call }: Connection, request: LogprobRequest): Promise<LogprobResult> {
  const { context, continuation, signal } = request;
  const response = await call(
    () =>
      client.completions.create(
        // max_tokens 1 rather than 0: some servers refuse 0. The generated token lies past the text and is ignored.
        {
          model: options.model,
          prompt: context + continuation,
          echo: true,
          max_tokens: 1,
          logprobs: 1,
          temperature: 0,
        },
        { signal },
      ),
    signal,
  );
  const lp = response.choices[0]?.logprobs;
  if (!lp?.tokens || !lp.token_logprobs || !lp.text_offset) {
    throw new UnsupportedError(
      `${options.baseURL} (${options.model}) returned no prompt log-probs; it needs legacy completions with echo and logprobs (vLLM, SGLang and llama.cpp server have them)`,
    );
  }
  const tokens = {
    tokens: lp.tokens,
    tokenLogprobs: lp.token_logprobs,
    textOffset: lp.text_offset,
    topLogprobs: lp.top_logprobs,
  };
  return sumContinuation(tokens, context.length, context.length + continuation.length);
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
