/**
 * Scoring prompt + completion rows with a model, and the reference model's log-probs in three modes:
 *
 *   adapter-disabled  the policy itself with every LoRA adapter switched off (the frozen base; no copy)
 *   frozen-copy       a second, frozen model built from the base weights
 *   cached            computed once before training for every row the run will score (the KTO KL
 *                     rows included: the batch plan is fixed by the seed), stored on disk under a
 *                     hash of the tokenized data, the reference weights and the plan settings
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { noGrad, recycling, scorePositions, type LlamaModel, type Tensor, type WeightMap } from "../engine/index.js";
import { z } from "zod";
import { writeFileAtomic } from "../io/index.js";
import type { LogitSums } from "./metrics.js";

/** One sequence to score: prompt tokens (masked) and completion tokens (scored). */
export interface ScoredRow {
  prompt: readonly number[];
  completion: readonly number[];
  /** Identifies the (prompt, completion) combination for the reference cache. */
  key: string;
  /** Per completion token, its weight in the sum (LD-DPO); every token counts 1 without. */
  weights?: readonly number[];
}

/**
 * Summed completion log-probs [B] of right-padded rows in one forward pass. Position t predicts
 * token t + 1, so the completion's first token is scored at the prompt's last position.
 */
export function completionLogps(model: LlamaModel, rows: readonly ScoredRow[]): Tensor {
  return scoreRows(model, rows, false).logps;
}

/**
 * completionLogps, and with `withSums` the logit statistics TRL logs, from the same pass. Only the
 * completion positions reach the lm_head (fused with the log-softmax: no [B, T, V] logits).
 */
export function scoreRows(
  model: LlamaModel,
  rows: readonly ScoredRow[],
  withSums: boolean,
): { logps: Tensor; sums?: LogitSums } {
  const T = Math.max(...rows.map((r) => r.prompt.length + r.completion.length)) - 1;
  const inputs: number[][] = [];
  const targets: number[][] = [];
  const attention: number[][] = [];
  const scored: number[][] = [];
  const weighted: number[][] = [];
  for (const { prompt, completion, weights } of rows) {
    const seq = [...prompt, ...completion];
    const n = seq.length - 1;
    const first = prompt.length - 1;
    inputs.push(Array.from({ length: T }, (_, t) => (t < n ? seq[t]! : 0)));
    targets.push(Array.from({ length: T }, (_, t) => (t < n ? seq[t + 1]! : 0)));
    attention.push(Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)));
    scored.push(Array.from({ length: T }, (_, t) => (t >= first && t < n ? 1 : 0)));
    weighted.push(Array.from({ length: T }, (_, t) => (t >= first && t < n ? (weights?.[t - first] ?? 1) : 0)));
  }
  const score = scorePositions(model, inputs, {
    attentionMask: attention,
    targets,
    scored,
    weights: weighted,
    stats: withSums,
  });
  if (!withSums) return { logps: score.logps };
  const sums: LogitSums = {
    logit: score.logitMean!,
    entropy: score.entropy!,
    correct: score.correct!,
    tokens: score.tokens,
  };
  return { logps: score.logps, sums };
}

/** Reference log-probs of rows, as plain numbers (never part of the graph). */
export type ReferenceScorer = (rows: readonly ScoredRow[]) => Float32Array;

export function adapterDisabledReference(policy: LlamaModel): ReferenceScorer {
  return (rows) =>
    recycling(() =>
      noGrad(() => {
        policy.setAdaptersEnabled(false);
        try {
          return completionLogps(policy, rows).data.slice();
        } finally {
          policy.setAdaptersEnabled(true);
        }
      }),
    );
}

/** The pass runs in its own pool scope: its activations are free again before the policy's backward. */
export function frozenModelReference(reference: LlamaModel): ReferenceScorer {
  return (rows) => recycling(() => noGrad(() => completionLogps(reference, rows).data.slice()));
}

/** sha256 over the reference weights (names, shapes, bytes), the tokenized data and extra settings. */
export function referenceCacheKey(weights: WeightMap, data: unknown, settings: unknown): string {
  const hash = createHash("sha256");
  for (const [name, { shape, data: values }] of [...weights].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`${name}[${shape.join(",")}]`);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  hash.update(JSON.stringify(data));
  hash.update(JSON.stringify(settings));
  return hash.digest("hex");
}

/** A reference cache file: summed completion log-prob by row key (see batchRows in train.ts). */
const referenceCacheSchema = z.record(z.string(), z.number());

/**
 * Loads the cache file for `key`, or scores every row with `score` (in chunks of batchSize) and
 * writes it. The returned scorer looks rows up by key and fails loudly on a row it never saw.
 */
export async function cachedReference(
  dir: string,
  key: string,
  rows: readonly ScoredRow[],
  batchSize: number,
  score: ReferenceScorer,
): Promise<{ scorer: ReferenceScorer; file: string; hit: boolean }> {
  const file = join(dir, `${key.slice(0, 32)}.json`);
  let table: Record<string, number>;
  const hit = existsSync(file);
  if (hit) {
    table = referenceCacheSchema.parse(JSON.parse(await readFile(file, "utf8")));
  } else {
    table = {};
    const unique = [...new Map(rows.map((r) => [r.key, r])).values()];
    for (let i = 0; i < unique.length; i += batchSize) {
      const chunk = unique.slice(i, i + batchSize);
      score(chunk).forEach((value, j) => (table[chunk[j]!.key] = value));
    }
    await mkdir(dir, { recursive: true });
    writeFileAtomic(file, JSON.stringify(table));
  }
  const scorer: ReferenceScorer = (batch) =>
    Float32Array.from(batch, (row) => {
      const value = table[row.key];
      if (value === undefined) throw new Error(`reference cache ${file} has no entry for row ${row.key}`);
      return value;
    });
  return { scorer, file, hit };
}
