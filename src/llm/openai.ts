import type OpenAI from "openai";
import PQueue from "p-queue";
import { z } from "zod";
import { ProviderError, UnsupportedError } from "../errors.js";
import { mapFinishReason, type LanguageModel, type TokenLogprob } from "./provider.js";
import type { GenerateJsonRequest, GenerateJsonResult, GenerateRequest, GenerateResult } from "./provider.js";
import { createJsonClient, type JsonClient } from "./http.js";
import { parseJsonReply } from "./json-reply.js";
import { createEchoScorer, type EchoChoice } from "./openai-logprobs.js";
import { withRetry, type RetryEvent, type RetryPolicy } from "./retry.js";

export { sumContinuation } from "./openai-logprobs.js";

/**
 * Any OpenAI-compatible server: vLLM, SGLang, llama.cpp's llama-server, Ollama, OpenAI itself.
 * Generation goes through chat completions (messages) or legacy completions (raw prompt), with the
 * generated tokens' log-probs on request. Log-probs of a given continuation come from legacy
 * completions with `echo`, which vLLM and SGLang honour; llama.cpp's llama-server has no prompt
 * log-probs (the build in node-llama-cpp 3.22.1 ignores echo), so it serves generation only.
 */
export interface OpenAIModelOptions {
  baseURL: string;
  model: string;
  /** Read from the environment by the caller; never logged. */
  apiKey?: string;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Log-likelihood prompts per legacy completions request (`prompt: [...]`); default 1. */
  batchSize?: number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onRetry?: (event: RetryEvent) => void;
}

/** What every call of one model needs: the client, the request queue with retries, the settings. */
interface Connection {
  client: JsonClient;
  options: OpenAIModelOptions;
  /** Sends through the queue, retrying what the policy allows. */
  call<T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export function createOpenAIModel(options: OpenAIModelOptions): LanguageModel {
  const concurrency = options.concurrency ?? 16;
  // Retries are ours (src/llm/retry.ts), so one policy serves every backend.
  const client = createJsonClient({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    connections: concurrency,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  const queue = new PQueue({ concurrency });
  const whenFree = <T>(fn: () => Promise<T>): Promise<T> => queue.add(fn) as Promise<T>;
  const attempt = <T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    withRetry(send, { policy: options.retry, signal, onRetry: options.onRetry });
  const call = <T>(send: () => Promise<T>, signal?: AbortSignal): Promise<T> => whenFree(() => attempt(send, signal));
  const connection: Connection = { client, options, call };
  const score = createEchoScorer({
    describe: `${options.baseURL} (${options.model})`,
    batchSize: options.batchSize ?? 1,
    whenFree,
    send: (prompts, signal) => attempt(() => echoCompletions(connection, prompts, signal), signal),
  });
  return {
    provider: "openai-compatible",
    modelId: `${options.baseURL}#${options.model}`,
    generate: (request) => generate(connection, request),
    generateJson: (request) => generateJson(connection, request),
    logprobs: (requests) => Promise.all(requests.map(score)),
    close: async () => {
      await queue.onIdle();
      await client.close();
    },
  };
}

/** The sampling fields of a generation request's body, as live requests and batch files send them. */
export function samplingFields(model: string, request: GenerateRequest) {
  return {
    model,
    max_tokens: request.maxTokens ?? 1024,
    temperature: request.temperature ?? 0,
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.seed !== undefined && { seed: request.seed }),
    ...(request.stop?.length && { stop: request.stop }),
    ...(request.topK !== undefined && { top_k: request.topK }),
  };
}

/** Chat completions for `messages`, legacy completions for a raw `prompt`. */
async function generate({ client, options, call }: Connection, request: GenerateRequest): Promise<GenerateResult> {
  const warnings: string[] = [];
  if (request.topK !== undefined) warnings.push("topK is not part of the OpenAI API; sent as top_k in the body");
  const sampling = samplingFields(options.model, request);
  const top = request.topLogprobs;
  const { signal } = request;
  let choice: { text: string; finishReason: string | null; logprobs?: TokenLogprob[] } | undefined;
  let usage: OpenAI.CompletionUsage | undefined;
  if (request.messages) {
    const body = {
      ...sampling,
      ...(top !== undefined && { logprobs: true, top_logprobs: top }),
      ...request.providerOptions,
      messages: request.messages,
    };
    const response = await call(() => client.post<OpenAI.ChatCompletion>("/chat/completions", body, signal), signal);
    const first = response.choices?.[0];
    choice = first && {
      text: first.message.content ?? "",
      finishReason: first.finish_reason,
      ...(top !== undefined && { logprobs: chatTokenLogprobs(first.logprobs) }),
    };
    usage = response.usage;
  } else {
    if (request.prompt === undefined) throw new UnsupportedError("generate needs either messages or prompt");
    const body = {
      ...sampling,
      ...(top !== undefined && { logprobs: top }),
      ...request.providerOptions,
      prompt: request.prompt,
    };
    const response = await call(() => client.post<OpenAI.Completion>("/completions", body, signal), signal);
    const first = response.choices?.[0];
    choice = first && {
      text: first.text,
      finishReason: first.finish_reason,
      ...(top !== undefined && { logprobs: completionTokenLogprobs(first.logprobs) }),
    };
    usage = response.usage;
  }
  if (!choice) throw new ProviderError(`${options.baseURL}: the response has no choices`, { isRetryable: true });
  if (top !== undefined && choice.logprobs?.length === 0 && choice.text !== "")
    warnings.push("topLogprobs was asked for, but the server returned no log-probs for the generated tokens");
  return {
    text: choice.text,
    finishReason: mapFinishReason(choice.finishReason),
    usage: { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 },
    warnings,
    ...(choice.logprobs && { logprobs: choice.logprobs }),
  };
}

/** Chat completions' `logprobs.content`: one entry per generated token, alternatives best first. */
function chatTokenLogprobs(lp: OpenAI.ChatCompletion.Choice["logprobs"]): TokenLogprob[] {
  return (lp?.content ?? []).map((t) => ({
    token: t.token,
    logprob: t.logprob,
    top: (t.top_logprobs ?? []).map((alt) => ({ token: alt.token, logprob: alt.logprob })),
  }));
}

/**
 * Legacy completions' parallel arrays; `top_logprobs` maps token → log-prob, sorted here best first.
 * llama-server answers legacy completions in the chat shape (`logprobs.content`) instead.
 */
function completionTokenLogprobs(
  lp: (OpenAI.CompletionChoice["logprobs"] & Partial<NonNullable<OpenAI.ChatCompletion.Choice["logprobs"]>>) | null,
): TokenLogprob[] {
  if (Array.isArray(lp?.content)) return chatTokenLogprobs({ content: lp.content, refusal: null });
  const tokens = lp?.tokens ?? [];
  return tokens.map((token, i) => ({
    token,
    logprob: lp?.token_logprobs?.[i] ?? Number.NaN,
    top: Object.entries(lp?.top_logprobs?.[i] ?? {})
      .map(([alt, logprob]) => ({ token: alt, logprob }))
      .sort((x, y) => y.logprob - x.logprob),
  }));
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

/** Legacy completions with `echo` for several prompts at once: the choices carry the prompts' token log-probs. */
async function echoCompletions(
  { client, options }: Connection,
  prompts: string[],
  signal: AbortSignal | undefined,
): Promise<EchoChoice[]> {
  // max_tokens 1 rather than 0: some servers refuse 0. The generated token lies past the text and is ignored.
  const body = {
    model: options.model,
    prompt: prompts.length === 1 ? prompts[0]! : prompts,
    echo: true,
    max_tokens: 1,
    logprobs: 1,
    temperature: 0,
  };
  const response = await client.post<OpenAI.Completion>("/completions", body, signal);
  return response.choices;
}
