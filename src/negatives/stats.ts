import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../io/index.js";

export const STATS_FILE = "stats.json";

const count = z.number().int().min(0);
const counts = z.record(z.string(), count);

/** Summary statistics of a list of lengths, for stats.json. */
const lengthSummarySchema = z.object({
  count,
  mean: z.number(),
  min: z.number(),
  p50: z.number(),
  p90: z.number(),
  max: z.number(),
});
export type LengthSummary = z.infer<typeof lengthSummarySchema>;

/** One server's share of this run's requests (the live requests; cache hits reach none). */
export const endpointStatsSchema = z.object({
  url: z.string(),
  model: z.string(),
  weight: z.number().positive(),
  requests: count,
  errors: count,
  cooldowns: count,
  latencyMs: z.object({ p50: z.number().min(0), p95: z.number().min(0) }),
  tokens: z.object({ input: count, output: count }),
});
export type EndpointStatsRecord = z.infer<typeof endpointStatsSchema>;

/** What this run left for later: jobs waiting on batch results, rejects moved back by --retry-rejects. */
const runDetailsShape = {
  endpoints: z.record(z.string(), z.array(endpointStatsSchema)).optional(),
  pendingJobs: count.optional(),
  retriedRejects: counts.optional(),
};
export type RunDetails = { [K in keyof typeof runDetailsShape]?: z.infer<(typeof runDetailsShape)[K]> };

/** `stats.json`: what `seapo inject` accepted, rejected and exported, with the cost. */
export const injectStatsSchema = z.object({
  accepted: count,
  rejected: count,
  acceptanceRate: z.number().min(0).max(1),
  acceptedByType: counts,
  exportedByType: counts,
  rejectsByReason: counts,
  rejectsByType: counts,
  pairs: count,
  kto: z.object({
    desirable: count,
    undesirable: count,
    suggestedDesirableWeight: z.number().min(1),
    /** The KTO files' row order (absent in runs before it was written): rows within `window` of their prompt. */
    order: z.object({ window: z.number().int().min(1), seed: z.number(), conflicts: count }).optional(),
  }),
  tokens: z.object({ input: count, output: count }),
  retries: count,
  cache: z.object({ hits: count, misses: count }),
  lengthsInCharacters: z.object({
    positives: lengthSummarySchema,
    negatives: lengthSummarySchema,
    negativeToPositiveRatio: lengthSummarySchema,
  }),
  ...runDetailsShape,
});
export type InjectStats = z.infer<typeof injectStatsSchema>;

export function summariseLengths(values: number[]): LengthSummary {
  if (values.length === 0) return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return { count: values.length, mean: round(mean), min: sorted[0]!, p50: at(0.5), p90: at(0.9), max: sorted.at(-1)! };
}

/**
 * Adds this run's details (per-endpoint counts by role, pending jobs, retried rejects) to the
 * stats.json the export wrote, keeping one file and one schema.
 */
export function addRunDetails(outDir: string, details: RunDetails): InjectStats {
  const path = join(outDir, STATS_FILE);
  // Read as written (not through the schema, which would drop fields it does not list).
  const merged = { ...(JSON.parse(readFileSync(path, "utf8")) as InjectStats), ...details };
  writeFileAtomic(path, `${JSON.stringify(merged, null, 2)}\n`);
  return merged;
}

/** Increments a counter in a plain record. */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** The sum of a table of counts. */
export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
