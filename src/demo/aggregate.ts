/** From per-seed scores and training curves to the arms of results.json. */
import { join } from "node:path";
import { readRecords } from "../io/index.js";
import { METRICS_FILE, metricsLineSchema } from "../train/index.js";
import type { ArmSpec } from "./arms.js";
import type { WorldScores } from "./evaluate.js";
import { errorMixOf, type ArmResult, type CurvePoint, type ErrorMix, type Spread } from "./results.js";
import { dimensions } from "./world/index.js";

/** What one seed of one arm gave. */
export interface SeedScore {
  seed: number;
  scores: WorldScores;
  curve: CurvePoint[];
  rows: number;
  /** Mean per-token log-prob of held-out gold answers after training (base: the base model's). */
  heldOutGold?: number | null;
}

/** Mean and sample standard deviation. */
export function spread(values: readonly number[]): Spread {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length < 2 ? 0 : values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance), perSeed: [...values] };
}

export function armResult(spec: ArmSpec, runs: readonly SeedScore[], heldOutBefore?: number | null): ArmResult {
  const perDim = (d: string) => runs.map((r) => r.scores.accuracy[d as keyof typeof r.scores.accuracy] ?? 0);
  const scores = Object.fromEntries(dimensions.map((d) => [d, spread(perDim(d))]));
  const averages = runs.map((r) => dimensions.reduce((s, d) => s + (r.scores.accuracy[d] ?? 0), 0) / dimensions.length);
  const mix = (key: keyof ErrorMix) => runs.reduce((s, r) => s + r.scores.errorMix[key], 0) / runs.length;
  const result: ArmResult = {
    name: spec.name,
    method: spec.method,
    scores,
    average: spread(averages),
    errorMix: errorMixOf(mix),
    curves: runs.map((r) => ({ seed: r.seed, points: r.curve })),
    trainRows: runs[0]?.rows ?? 0,
  };
  if (heldOutBefore !== undefined && spec.method !== "base")
    result.heldOutGold = runs.map((r) => ({ seed: r.seed, before: heldOutBefore, after: r.heldOutGold ?? null }));
  if (spec.strategy !== undefined) result.strategy = spec.strategy;
  if (spec.loss !== undefined) result.loss = spec.loss;
  if (runs.every((r) => r.scores.mc1 !== undefined)) {
    result.mc1 = spread(runs.map((r) => r.scores.mc1!));
    result.mc2 = spread(runs.map((r) => r.scores.mc2!));
  }
  return result;
}

/** Loss and reward margin per logged step of a `seapo train` run (DPO's margin, or KTO's chosen minus rejected). */
export async function readCurve(runDir: string): Promise<CurvePoint[]> {
  const curve: CurvePoint[] = [];
  for await (const line of readRecords(join(runDir, METRICS_FILE))) {
    const m = metricsLineSchema.parse(line);
    if (typeof m.loss !== "number") continue;
    const point: CurvePoint = {
      step: m.step,
      loss: m.loss,
      margin: m["rewards/margins"] ?? (m["rewards/chosen"] ?? 0) - (m["rewards/rejected"] ?? 0),
    };
    if (typeof m["logps/chosen"] === "number") point.chosenLogp = m["logps/chosen"];
    if (typeof m["logps/rejected"] === "number") point.rejectedLogp = m["logps/rejected"];
    curve.push(point);
  }
  return curve;
}
