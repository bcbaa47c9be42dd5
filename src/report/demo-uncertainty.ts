/**
 * The demo report's paired-bootstrap table: per arm, the five-dimension average with its interval and
 * its differences to vanilla and to base (results.json → uncertainty). Older results.json files have
 * no intervals; the report then shows none.
 */
import type { DemoResults } from "../demo/index.js";

type Interval = { estimate: number; low: number; high: number };
const cell = (i: Interval | undefined, signed = false) => {
  if (i === undefined) return "–";
  const f = (x: number) => `${signed && x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`;
  return `${f(i.estimate)} <span class="std">[${f(i.low)}, ${f(i.high)}]</span>`;
};

export const UNCERTAINTY_HEADER = ["arm", "average %", "− vanilla (points)", "− base (points)"];

/** Table rows (cells are HTML; arm names come from the demo's own arm list and hold no markup). */
export function uncertaintyRows(demo: DemoResults): string[][] | undefined {
  const u = demo.uncertainty;
  if (u === undefined) return undefined;
  const diff = (arm: string, vanilla: boolean) =>
    u.differences.find((d) => d.arm === arm && (d.reference === "base") !== vanilla)?.average;
  return demo.arms.map((arm) => [
    arm.name,
    cell(u.accuracy[arm.name]?.average),
    cell(diff(arm.name, true), true),
    cell(diff(arm.name, false), true),
  ]);
}

/** The vanilla pairs as the checker saw them, one sentence (undefined for older results). */
export function vanillaPairsNote(demo: DemoResults): string | undefined {
  const v = demo.vanilla;
  if (v === undefined) return undefined;
  const seeds = v.perSeed
    .map(
      (s) =>
        `seed ${s.seed}: ${s.informative} informative, ${s.bothRight + s.bothWrong} near-ties, ${s.reversed} reversed of ${s.pairs}`,
    )
    .join("; ");
  return `Vanilla pairs (reward noise σ = ${v.rewardNoise.sigma}, expected ${(100 * v.rewardNoise.expectedReversedShare).toFixed(1)}% of decisive pairs reversed): ${seeds}.`;
}

const nats = (x: number | null | undefined) => (x === null || x === undefined ? "–" : x.toFixed(2));

/**
 * Issue 14's log-prob diagnostics as sentences (undefined for older results): the base model's mean
 * per-token log-prob of SeaPO's negatives against its own wrong samples, and per trained arm how the
 * held-out gold answers' log-prob moved over training (a fall is likelihood displacement).
 */
export function logprobNotes(demo: DemoResults): string[] {
  const notes: string[] = [];
  for (const p of demo.plausibility ?? [])
    notes.push(
      `Seed ${p.seed}, base model's mean per-token log-prob: gold ${nats(p.gold.mean)} (${p.gold.n}), ` +
        `SeaPO negatives ${nats(p.seapo.mean)} (${p.seapo.n}), its own wrong samples ${nats(p.sampledWrong.mean)} (${p.sampledWrong.n}).`,
    );
  const moved = demo.arms
    .filter((a) => a.heldOutGold?.length)
    .map((a) => {
      const d = a.heldOutGold!.map((g) => (g.after ?? Number.NaN) - (g.before ?? Number.NaN));
      return `${a.name} ${(d.reduce((s, x) => s + x, 0) / d.length).toFixed(3)}`;
    });
  if (moved.length > 0)
    notes.push(
      `Held-out gold answers, change of mean per-token log-prob over training (seed mean): ${moved.join(", ")}.`,
    );
  return notes;
}
