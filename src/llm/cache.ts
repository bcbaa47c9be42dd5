import { createReadStream, mkdirSync, openSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import type { GenerateJsonRequest, GenerateRequest, LanguageModel, LogprobRequest } from "./provider.js";
import { hashKey, Journal } from "../io/index.js";

/**
 * A disk cache in front of any LanguageModel, keyed by a hash of the provider, the model, the kind
 * of call and the whole request (template text and sampling parameters included). A re-run, or a
 * run after a crash, sends only the requests not yet answered.
 *
 * Entries are appended to one JSONL journal (`requests.jsonl`: one write per entry, a torn last
 * line cut off on open) and found through an in-memory index of key → byte range, so a miss costs
 * no I/O and a hit one read. The index holds ~100 bytes per entry, not the values.
 */
export interface CacheStats {
  hits: number;
  misses: number;
}

export type CachedModel = LanguageModel & { readonly cacheStats: CacheStats };

export function withRequestCache(model: LanguageModel, options: { dir: string }): CachedModel {
  const stats: CacheStats = { hits: 0, misses: 0 };
  const store = openStore(options.dir);

  async function cached<T>(kind: RequestKind, request: object, compute: () => Promise<T>): Promise<T> {
    const key = requestKey(model, kind, request);
    const hit = (await store).get(key) as { value: T } | undefined;
    if (hit) {
      stats.hits++;
      return hit.value;
    }
    stats.misses++;
    const value = await compute();
    (await store).set(key, { value });
    return value;
  }

  return {
    provider: model.provider,
    modelId: model.modelId,
    cacheStats: stats,
    generate: (request: GenerateRequest) => cached("generate", request, () => model.generate(request)),
    generateJson: <T>(request: GenerateJsonRequest<T>) =>
      cached("generateJson", request, () => model.generateJson(request)).then((result) => ({
        ...result,
        value: request.schema.parse(result.value),
      })),
    logprobs: (requests: LogprobRequest[]) =>
      Promise.all(
        requests.map((request) => cached("logprobs", request, async () => (await model.logprobs([request]))[0]!)),
      ),
    close: model.close?.bind(model),
  };
}

export type RequestKind = "generate" | "generateJson" | "logprobs";

/**
 * The cache key of a request: a hash of the provider, the model id, the kind of call and the
 * request. A batch file's `custom_id` is this key, so a batch result lands where a live reply would.
 */
export function requestKey(
  model: Pick<LanguageModel, "provider" | "modelId">,
  kind: RequestKind,
  request: object,
): string {
  const { signal: _signal, ...rest } = request as { signal?: unknown; schema?: z.ZodType };
  // The zod schema is not serialisable; its JSON Schema form identifies it.
  const body = kind === "generateJson" && rest.schema ? { ...rest, schema: z.toJSONSchema(rest.schema) } : rest;
  return hashKey({ provider: model.provider, modelId: model.modelId, kind, request: body });
}

/** Whether the cache in `dir` holds an answer for `key` (a batch result already taken, for instance). */
export async function cacheHolds(dir: string, key: string): Promise<boolean> {
  return (await openStore(dir)).has(key);
}

/** One store per folder per process, so an injector and a judge sharing a folder share the index. */
const stores = new Map<string, Promise<RequestStore>>();

function openStore(dir: string): Promise<RequestStore> {
  let store = stores.get(dir);
  if (!store) {
    store = RequestStore.open(join(dir, "requests.jsonl"));
    stores.set(dir, store);
  }
  return store;
}

class RequestStore {
  private constructor(
    private readonly journal: Journal,
    private readonly fd: number,
    private readonly index: Map<string, { offset: number; length: number }>,
    private size: number,
  ) {}

  static async open(path: string): Promise<RequestStore> {
    mkdirSync(dirname(path), { recursive: true });
    const journal = Journal.open(path); // creates the file, or cuts a torn last line off it
    const index = new Map<string, { offset: number; length: number }>();
    let offset = 0;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      const length = Buffer.byteLength(line);
      const key = /^\{"key":"([0-9a-f]{64})"/.exec(line)?.[1];
      if (key) index.set(key, { offset, length });
      offset += length + 1;
    }
    return new RequestStore(journal, openSync(path, "r"), index, offset);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): unknown {
    const at = this.index.get(key);
    if (!at) return undefined;
    const buffer = Buffer.alloc(at.length);
    readSync(this.fd, buffer, 0, at.length, at.offset);
    try {
      const entry = JSON.parse(buffer.toString("utf8")) as { key: string; entry: unknown };
      return entry.key === key ? entry.entry : undefined;
    } catch {
      return undefined; // another process wrote here since the index was built: treat as a miss
    }
  }

  set(key: string, entry: unknown): void {
    const line = JSON.stringify({ key, entry });
    this.journal.appendLine(line);
    const length = Buffer.byteLength(line);
    this.index.set(key, { offset: this.size, length });
    this.size += length + 1;
  }
}
