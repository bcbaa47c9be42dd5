import { join } from "node:path";
import { z } from "zod";

/** The request-cache flags of the commands that call models (spread into their options schema). */
export const cacheOptions = {
  cacheDir: z
    .string()
    .optional()
    .meta({ description: "request cache folder (default: <out>/cache)", flag: "--cache-dir <dir>" }),
  cache: z.boolean().default(true).meta({ description: "do not read or write the request cache" }),
};

/** The cache folder the flags choose: --cache-dir, else <out>/cache; undefined with --no-cache. */
export function requestCacheDir(flags: { out: string; cacheDir?: string; cache: boolean }): string | undefined {
  return flags.cache ? (flags.cacheDir ?? join(flags.out, "cache")) : undefined;
}
