/**
 * Paired bootstrap over test items and seeds (docs/science.md, "Uncertainty"). Every arm is scored on
 * the same items under the same seeds, so each replicate draws one resample of seeds and, within each
 * dimension, one resample of items, and applies it to every arm: differences between arms keep their
 * pairing, and a difference's interval is far narrower than either accuracy's when arms agree on items.
 * Intervals are percentile intervals of the replicates; the standard error is their standard deviation.
 * Pure: no files, and the same inputs and seed give the same intervals.
 */
import { Rng } from "../engine/index.js";

/** Per-item 0/1 outcomes: for every arm, one row per seed, each row aligned with `itemDimension`. */
export interface OutcomeTable {
  dimensions: readonly string[];
  /** The dimension (stratum) of each item; items are resampled within their dimension. */
  itemDimension: readonly string[];
  outcomes: ReadonlyMap<string, ReadonlyArray<ArrayLike<number>>>;
}

export interface BootstrapOptions {
  replicates: number;
  seed: number;
  /** Central coverage of the intervals (0.95). */
  level: number;
  /** Arm minus reference differences to report, e.g. { arm: "seapo-mixed-kto", reference: "vanilla-kto" }. */
  differences: ReadonlyArray<{ arm: string; reference: string }>;
}

export interface Interval {
  /** The figure on the data as observed. */
  estimate: number;
  low: number;
  high: number;
  /** Standard deviation of the bootstrap replicates. */
  se: number;
}

/** One figure per dimension and the mean over dimensions. */
export interface DimensionIntervals {
  perDimension: Record<string, Interval>;
  average: Interval;
}

export interface BootstrapResult {
  replicates: number;
  level: number;
  accuracy: Record<string, DimensionIntervals>;
  differences: Array<{ arm: string; reference: string } & DimensionIntervals>;
}

export function pairedBootstrap(table: OutcomeTable, options: BootstrapOptions): BootstrapResult {
  const strata = table.dimensions.map((d) => table.itemDimension.flatMap((x, i) => (x === d ? [i] : [])));
  const arms = [...table.outcomes.keys()];
  const seeds = checkShape(table, strata);
  const figures = (seedWeights: ArrayLike<number>, itemWeights: ArrayLike<number>) =>
    new Map(arms.map((arm) => [arm, armFigures(table.outcomes.get(arm)!, strata, seedWeights, itemWeights)]));

  const observed = figures(new Float64Array(seeds).fill(1), new Float64Array(table.itemDimension.length).fill(1));
  const rng = new Rng(options.seed);
  const draws: Array<Map<string, number[]>> = [];
  for (let b = 0; b < options.replicates; b++) {
    const seedWeights = new Float64Array(seeds);
    for (let k = 0; k < seeds; k++) seedWeights[rng.int(seeds)]! += 1;
    const itemWeights = new Float64Array(table.itemDimension.length);
    for (const stratum of strata)
      for (let k = 0; k < stratum.length; k++) itemWeights[stratum[rng.int(stratum.length)]!]! += 1;
    draws.push(figures(seedWeights, itemWeights));
  }

  const summarise = (of: (figs: Map<string, number[]>) => number[]): DimensionIntervals => {
    const point = of(observed);
    const columns = point.map((_, j) => draws.map((d) => of(d)[j]!));
    const intervals = point.map((estimate, j) => interval(estimate, columns[j]!, options.level));
    return {
      perDimension: Object.fromEntries(table.dimensions.map((d, j) => [d, intervals[j]!])),
      average: intervals[table.dimensions.length]!,
    };
  };
  const accuracy = Object.fromEntries(arms.map((arm) => [arm, summarise((f) => f.get(arm)!)]));
  const differences = options.differences.map(({ arm, reference }) => {
    if (!table.outcomes.has(arm) || !table.outcomes.has(reference))
      throw new Error(`pairedBootstrap: no outcomes for ${table.outcomes.has(arm) ? reference : arm}`);
    return {
      arm,
      reference,
      ...summarise((f) => f.get(arm)!.map((v, j) => v - f.get(reference)![j]!)),
    };
  });
  return { replicates: options.replicates, level: options.level, accuracy, differences };
}

/** Accuracy per dimension, then their mean, under the given seed and item weights. */
function armFigures(
  rows: ReadonlyArray<ArrayLike<number>>,
  strata: readonly number[][],
  seedWeights: ArrayLike<number>,
  itemWeights: ArrayLike<number>,
): number[] {
  let seedTotal = 0;
  for (let s = 0; s < rows.length; s++) seedTotal += seedWeights[s]!;
  const perDimension = strata.map((stratum) => {
    let hits = 0;
    let weight = 0;
    for (const i of stratum) weight += itemWeights[i]!;
    for (let s = 0; s < rows.length; s++) {
      const v = seedWeights[s]!;
      if (v === 0) continue;
      const row = rows[s]!;
      for (const i of stratum) hits += v * itemWeights[i]! * row[i]!;
    }
    return hits / (seedTotal * weight);
  });
  return [...perDimension, perDimension.reduce((a, b) => a + b, 0) / perDimension.length];
}

function interval(estimate: number, replicates: number[], level: number): Interval {
  const sorted = [...replicates].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const variance = sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, sorted.length - 1);
  const tail = (1 - level) / 2;
  return { estimate, low: quantile(sorted, tail), high: quantile(sorted, 1 - tail), se: Math.sqrt(variance) };
}

/** Linear interpolation between order statistics (numpy's default, "linear"). */
function quantile(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

/** The seed count every arm shares; throws on rows of the wrong length or a dimension without items. */
function checkShape(table: OutcomeTable, strata: readonly number[][]): number {
  strata.forEach((stratum, j) => {
    if (stratum.length === 0) throw new Error(`pairedBootstrap: no items of dimension ${table.dimensions[j]}`);
  });
  let seeds: number | undefined;
  for (const [arm, rows] of table.outcomes) {
    if (rows.length === 0 || (seeds !== undefined && rows.length !== seeds))
      throw new Error(`pairedBootstrap: ${arm} has ${rows.length} seed rows, expected ${seeds ?? "at least 1"}`);
    seeds = rows.length;
    for (const row of rows)
      if (row.length !== table.itemDimension.length)
        throw new Error(
          `pairedBootstrap: ${arm} has a row of ${row.length} outcomes for ${table.itemDimension.length} items`,
        );
  }
  if (seeds === undefined) throw new Error("pairedBootstrap: no arms");
  return seeds;
}
