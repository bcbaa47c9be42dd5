/**
 * From per-item outcomes to results.json's intervals and the verdict `seapo demo` prints: every arm's
 * test answers as 0/1 strings aligned with the test items, the paired bootstrap over them, and three
 * honest lines comparing mixed SeaPO (KTO, the paper's loss) with vanilla and the base model.
 */
import type { ArmSpec } from "./arms.js";
import { pairedBootstrap } from "./bootstrap.js";
import type { DemoResults, Uncertainty } from "./results.js";
import type { WorldItem } from "./world/index.js";

export const BOOTSTRAP = { replicates: 2000, level: 0.95, seed: 20_240_501 } as const;
export const VERDICT_ARMS = { seapo: "seapo-mixed-kto", vanilla: "vanilla-kto", base: "base" } as const;

type Outcomes = NonNullable<DemoResults["outcomes"]>;

/** One arm's answers for one seed, in test-item order. */
export const outcomeString = (answers: ReadonlyArray<{ correct: boolean }>): string =>
  answers.map((a) => (a.correct ? "1" : "0")).join("");

export const testItemsOf = (items: readonly WorldItem[]) => items.map((i) => ({ id: i.id, dimension: i.dimension }));

/** Each trained arm minus base; each SeaPO arm minus the vanilla arm of its loss. */
export function comparisons(specs: readonly ArmSpec[]): Array<{ arm: string; reference: string }> {
  const names = new Set(specs.map((s) => s.name));
  return specs.flatMap((spec) => {
    if (spec.method === "base") return [];
    // multi_dpo over several negatives is DPO with one: its vanilla is vanilla-dpo.
    const vanilla = `vanilla-${spec.loss === "multi" ? "dpo" : spec.loss}`;
    return [
      ...(spec.method === "seapo" && names.has(vanilla) ? [{ arm: spec.name, reference: vanilla }] : []),
      ...(names.has("base") ? [{ arm: spec.name, reference: "base" }] : []),
    ];
  });
}

export function demoUncertainty(
  testItems: ReadonlyArray<{ dimension: string }>,
  dimensions: readonly string[],
  outcomes: Outcomes,
  specs: readonly ArmSpec[],
): Uncertainty {
  const rows = new Map<string, Uint8Array[]>();
  for (const o of outcomes) {
    const row = Uint8Array.from(o.correct, (c) => (c === "1" ? 1 : 0));
    rows.set(o.arm, [...(rows.get(o.arm) ?? []), row]);
  }
  const result = pairedBootstrap(
    { dimensions, itemDimension: testItems.map((i) => i.dimension), outcomes: rows },
    { ...BOOTSTRAP, differences: comparisons(specs) },
  );
  return {
    method:
      "paired bootstrap: seeds and, within each dimension, test items resampled with replacement, the same draw for every arm; percentile intervals",
    seed: BOOTSTRAP.seed,
    ...result,
  };
}

const pct = (x: number) => (100 * x).toFixed(1);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;

/** The three verdict lines, or none when the run has no mixed-SeaPO KTO arm to judge. */
export function verdictLines(u: Uncertainty, items: number, seeds: number, split = "test"): string[] {
  const { seapo, vanilla, base } = VERDICT_ARMS;
  const avg = (arm: string) => u.accuracy[arm]?.average;
  if (avg(seapo) === undefined || avg(vanilla) === undefined || avg(base) === undefined) return [];
  const show = (arm: string) => `${arm} ${pct(avg(arm)!.estimate)}% [${pct(avg(arm)!.low)}, ${pct(avg(arm)!.high)}]`;
  const diff = (reference: string) => {
    const d = u.differences.find((x) => x.arm === seapo && x.reference === reference)!.average;
    const reading =
      d.low > 0 ? "SeaPO is ahead" : d.high < 0 ? "SeaPO is behind" : "within noise (the interval covers 0)";
    return `  ${seapo} − ${reference}: ${signed(d.estimate)} points [${signed(d.low)}, ${signed(d.high)}]: ${reading}`;
  };
  const level = Math.round(100 * u.level);
  const over =
    seeds === 1
      ? `${items} ${split} items × 1 seed: item noise only, seed noise is not in it`
      : `${items} ${split} items × ${seeds} seeds`;
  return [
    `verdict, five-dimension average (${level}% paired bootstrap over ${over}): ${show(seapo)} · ${show(vanilla)} · ${show(base)}`,
    diff(vanilla),
    diff(base),
  ];
}
