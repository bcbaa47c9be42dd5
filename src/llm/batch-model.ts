/**
 * A LanguageModel that answers from OpenAI Batch result files and records what it cannot answer
 * as batch request lines, for the two-step workflow: `--batch-out DIR` writes the pending
 * requests, a batch runner (`vllm run-batch`, a hosted Batch API) answers them, and `--batch-in
 * FILE…` feeds the answers back through the same pipeline. The custom_id of each line is the
 * request-cache key, so a batch answer and a live one are interchangeable on resume.
 */
import { z } from "zod";
import { InputError, SeapoError, UnsupportedError } from "../errors.js";
import { requestKey, cacheHolds } from "./cache.js";
import { BatchWriter, readBatchResults, resultBody, type BatchResult } from "./batch-file.js";
import { parseJsonReply } from "./json-reply.js";
import { mapFinishReason, type GenerateJsonRequest, type GenerateRequest, type GenerateResult } from "./provider.js";
import type { LanguageModel } from "./provider.js";
import { servedModel } from "./endpoint-pool.js";
import { samplingFields } from "./openai.js";

/** Thrown for a request whose answer is not in the batch results: the job that asked stays pending. */
export class DeferredRequest extends SeapoError {
  override name = "DeferredRequest";
}

export function isDeferred(error: unknown): error is DeferredRequest {
  return error instanceof DeferredRequest;
}

export interface BatchCounts {
  /** Results that answered a request of this run. */
  used: number;
  /** Requests whose result says it failed: left pending (and written again with --batch-out). */
  failed: number;
  /** Requests with no result in the files given: left pending. */
  missing: number;
  /** Request lines written with --batch-out. */
  written: number;
}

/** The batch files of one run, shared by the injector and the judge. */
export interface BatchSession {
  counts: BatchCounts;
  /** Whether --batch-in gave result files. */
  readonly readsResults: boolean;
  model(name: string): LanguageModel;
  /** Closes the request files and returns their paths. */
  close(): string[];
  /** Fails, naming file and line, on a result no request of this run (or the cache) claims. */
  checkAllMatched(cacheDir: string | undefined): Promise<void>;
}

export async function openBatchSession(options: {
  inFiles?: readonly string[];
  outDir?: string;
}): Promise<BatchSession> {
  const results = options.inFiles?.length ? await readBatchResults(options.inFiles) : new Map<string, BatchResult>();
  const counts: BatchCounts = { used: 0, failed: 0, missing: 0, written: 0 };
  const taken = new Set<string>();
  const writers = new Map<string, BatchWriter>();
  const writerFor = (name: string) => {
    if (!options.outDir) return undefined;
    let writer = writers.get(name);
    if (!writer) writers.set(name, (writer = new BatchWriter(options.outDir, fileStem(name))));
    return writer;
  };
  const answer = (name: string, key: string, url: string, body: Record<string, unknown>): GenerateResult => {
    const result = results.get(key);
    if (result && !result.failure) {
      if (!taken.has(key)) counts.used++;
      taken.add(key);
      return parseCompletion(result, url);
    }
    // Counted once per request, however many jobs ask for it.
    if (!taken.has(key)) {
      if (result) counts.failed++;
      else if (options.inFiles?.length) counts.missing++;
    }
    taken.add(key);
    const writer = writerFor(name);
    if (writer) {
      const before = writer.requestCount;
      writer.add({ custom_id: key, method: "POST", url, body });
      counts.written += writer.requestCount - before;
    }
    throw new DeferredRequest(`request ${key} waits for a batch result`);
  };
  return {
    counts,
    readsResults: results.size > 0,
    model: (name) => batchModel(name, answer),
    close: () => [...writers.values()].flatMap((writer) => (writer.close(), writer.files)),
    checkAllMatched: async (cacheDir) => {
      for (const [key, result] of results) {
        if (taken.has(key) || (cacheDir && (await cacheHolds(cacheDir, key)))) continue;
        throw new InputError(
          result.file,
          result.line,
          "custom_id",
          `no pending request of this run has custom_id ${key}`,
          "give the results of requests written by --batch-out with the same command and settings",
        );
      }
    },
  };
}

type Answer = (name: string, key: string, url: string, body: Record<string, unknown>) => GenerateResult;

function batchModel(name: string, answer: Answer): LanguageModel {
  const identity = servedModel(name);
  const generate = async (request: GenerateRequest, kind: "generate" | "generateJson" = "generate") => {
    const key = requestKey(identity, kind, request);
    const { url, body } = requestBody(name, request);
    return answer(name, key, url, body);
  };
  return {
    ...identity,
    generate: (request) => generate(request),
    generateJson: async <T>(request: GenerateJsonRequest<T>) => {
      const messages = request.messages ?? [{ role: "user" as const, content: request.prompt ?? "" }];
      const responseFormat = {
        type: "json_schema",
        json_schema: { name: request.schemaName ?? "answer", schema: z.toJSONSchema(request.schema), strict: true },
      };
      const withFormat = {
        ...request,
        providerOptions: { response_format: responseFormat, ...request.providerOptions },
      };
      const result = await generate({ ...withFormat, messages }, "generateJson");
      return { ...result, value: parseJsonReply(result, request.schema, `batch result (${name})`) };
    },
    logprobs: () => Promise.reject(new UnsupportedError("batch files carry generation requests only, not log-probs")),
  };
}

/** The body an OpenAI-compatible server gets for this request (the live client sends the same fields). */
function requestBody(model: string, request: GenerateRequest): { url: string; body: Record<string, unknown> } {
  const sampling = { ...samplingFields(model, request), ...request.providerOptions };
  if (request.messages) return { url: "/v1/chat/completions", body: { ...sampling, messages: request.messages } };
  if (request.prompt === undefined) throw new UnsupportedError("generate needs either messages or prompt");
  return { url: "/v1/completions", body: { ...sampling, prompt: request.prompt } };
}

const completionBodySchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable().optional() }).optional(),
        text: z.string().optional(),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1, "a successful result needs at least one choice"),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).partial().optional(),
});

function parseCompletion(result: BatchResult, url: string): GenerateResult {
  const parsed = completionBodySchema.safeParse(resultBody(result));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ["response", "body", ...issue.path.map(String)].join(".");
    throw new InputError(
      result.file,
      result.line,
      field,
      issue.message,
      "expected a chat or completions response body",
    );
  }
  const choice = parsed.data.choices[0]!;
  const text = url === "/v1/chat/completions" ? (choice.message?.content ?? "") : (choice.text ?? "");
  const usage = parsed.data.usage;
  return {
    text,
    finishReason: mapFinishReason(choice.finish_reason),
    usage: { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 },
    warnings: [],
  };
}

/** A file-name stem for a model's requests: each batch file holds one model, as the Batch API asks. */
function fileStem(model: string): string {
  return model.replace(/[^A-Za-z0-9._-]+/g, "_");
}
