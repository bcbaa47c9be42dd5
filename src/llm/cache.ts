import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { GenerateJsonRequest, GenerateRequest, LanguageModel, LogprobRequest } from "./provider.js";

/**
 * A disk cache in front of any LanguageModel: one small JSON file per request, keyed by a hash of
 * the provider, the model, the kind of call and the whole request (template text and sampling
 * parameters included). A re-run, or a run after a crash, sends only the requests not yet answered.
 * One file per entry keeps memory flat however many rows pass through, and a rename makes each
 * write atomic.
 */
export interface CacheStats {
  hits: number;
  misses: number;
}

export type CachedModel = LanguageModel & { readonly cacheStats: CacheStats };

export function withRequestCache(model: LanguageModel, options: { dir: string }): CachedModel {
  const stats: CacheStats = { hits: 0, misses: 0 };
  let tmpCounter = 0;

  async function cached<T>(kind: string, request: object, compute: () => Promise<T>): Promise<T> {
    const key = hashKey({ provider: model.provider, modelId: model.modelId, kind, request: withoutSignal(request) });
    const file = join(options.dir, key.slice(0, 2), `${key}.json`);
    try {
      const hit = JSON.parse(await readFile(file, "utf8")) as { value: T };
      stats.hits++;
      return hit.value;
    } catch {
      // a miss, or a file another process is replacing: compute afresh
    }
    stats.misses++;
    const value = await compute();
    await mkdir(join(options.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${file}.${process.pid}.${tmpCounter++}.tmp`;
    await writeFile(tmp, JSON.stringify({ value }));
    await rename(tmp, file);
    return value;
  }

  return {
    provider: model.provider,
    modelId: model.modelId,
    cacheStats: stats,
    generate: (request: GenerateRequest) => cached("generate", request, () => model.generate(request)),
    generateJson: <T>(request: GenerateJsonRequest<T>) => {
      // The zod schema is not serialisable; its JSON Schema form identifies it.
      const { schema, ...rest } = request;
      const key = { ...rest, schema: z.toJSONSchema(schema) };
      return cached("generateJson", key, () => model.generateJson(request)).then((result) => ({
        ...result,
        value: schema.parse(result.value),
      }));
    },
    logprobs: (requests: LogprobRequest[]) =>
      Promise.all(requests.map((request) => cached("logprobs", request, async () => (await model.logprobs([request]))[0]!))),
    close: model.close?.bind(model),
  };
}

export function hashKey(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex");
}

/** JSON with object keys sorted, so equal requests hash equally whatever order their fields were set in. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
}

function withoutSignal(request: object): object {
  const { signal: _signal, ...rest } = request as { signal?: unknown };
  return rest;
}
