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
 * line cut off on open) and found through an in-memory index of key → byte offset, so a miss costs
 * no I/O and a hit one read. The index holds ~70 bytes per entry, not the values.
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

/**
 * The index maps the first 16 hex digits of a key to its line's byte offset: ~70 bytes an entry,
 * so 100k entries hold ~7 MB. A line read back must carry the full key, so two keys sharing a
 * prefix (odds about n²/2^65) only cost a miss, never a wrong answer.
 */
const INDEX_DIGITS = 16;

class RequestStore {
  private constructor(
    private readonly journal: Journal,
    private readonly fd: number,
    private readonly index: Map<string, number>,
    private size: number,
  ) {}

  static async open(path: string): Promise<RequestStore> {
    mkdirSync(dirname(path), { recursive: true });
    const journal = Journal.open(path); // creates the file, or cuts a torn last line off it
    const index = new Map<string, number>();
    let offset = 0;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      const key = /^\{"key":"([0-9a-f]{64})"/.exec(line)?.[1];
      if (key) index.set(key.slice(0, INDEX_DIGITS), offset);
      offset += Buffer.byteLength(line) + 1;
    }
    return new RequestStore(journal, openSync(path, "r"), index, offset);
  }

  has(key: string): boolean {
    return this.read(key) !== undefined;
  }

  get(key: string): unknown {
    return this.read(key)?.entry;
  }

  set(key: string, entry: unknown): void {
    const line = JSON.stringify({ key, entry });
    this.journal.appendLine(line);
    this.index.set(key.slice(0, INDEX_DIGITS), this.size);
    this.size += Buffer.byteLength(line) + 1;
  }

  private read(key: string): { entry: unknown } | undefined {
    const offset = this.index.get(key.slice(0, INDEX_DIGITS));
    if (offset === undefined) return undefined;
    try {
      const entry = JSON.parse(readLineAt(this.fd, offset)) as { key: string; entry: unknown };
      return entry.key === key ? entry : undefined;
    } catch {
      return undefined; // another process wrote here since the index was built: treat as a miss
    }
  }
}

/** The line that starts at `offset`, read in growing chunks up to its newline (or the file's end). */
function readLineAt(fd: number, offset: number): string {
  const parts: Buffer[] = [];
  for (let at = offset, size = 4096; ; at += size, size *= 2) {
    const buffer = Buffer.alloc(size);
    const read = readSync(fd, buffer, 0, size, at);
    const end = buffer.subarray(0, read).indexOf(0x0a);
    parts.push(buffer.subarray(0, end >= 0 ? end : read));
    if (end >= 0 || read < size) return Buffer.concat(parts).toString("utf8");
  }
}
