/** Summary statistics of a list of lengths, for stats.json. */
export interface LengthSummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  max: number;
}

export function summariseLengths(values: number[]): LengthSummary {
  if (values.length === 0) return { count: 0, mean: 0, min: 0, p50: 0, p90: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  return { count: values.length, mean: round(mean), min: sorted[0]!, p50: at(0.5), p90: at(0.9), max: sorted.at(-1)! };
}

/** Increments a counter in a plain record. */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
