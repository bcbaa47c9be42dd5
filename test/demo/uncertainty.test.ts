import { describe, expect, it } from "vitest";
import { armSpecs } from "../../src/demo/arms.js";
import { comparisons, demoUncertainty, verdictLines } from "../../src/demo/uncertainty.js";
import { uncertaintyRows, vanillaPairsNote } from "../../src/report/demo-uncertainty.js";
import { demoResults } from "../report/fixtures.js";

const dims = ["a", "b"];
const items = Array.from({ length: 40 }, (_, i) => ({ dimension: dims[i % 2]! }));
const row = (ones: (i: number) => boolean) => items.map((_, i) => (ones(i) ? "1" : "0")).join("");
const quick = armSpecs("quick");
// Mixed SeaPO is right on every item vanilla is right on, and on 10 more; base matches vanilla.
const outcomes = quick.map((spec) => ({
  arm: spec.name,
  seed: 1,
  correct: spec.name === "seapo-mixed-kto" ? row((i) => i < 30) : row((i) => i < 20),
}));

describe("the demo's intervals and verdict", () => {
  it("compares each SeaPO arm with the vanilla arm of its loss, and every trained arm with base", () => {
    expect(comparisons(quick).filter((c) => c.arm === "seapo-mixed-dpo")).toEqual([
      { arm: "seapo-mixed-dpo", reference: "vanilla-dpo" },
      { arm: "seapo-mixed-dpo", reference: "base" },
    ]);
    expect(comparisons(quick).filter((c) => c.arm === "vanilla-kto")).toEqual([
      { arm: "vanilla-kto", reference: "base" },
    ]);
  });

  it("says ahead when the interval excludes 0, and within noise when it covers 0", () => {
    const u = demoUncertainty(items, dims, outcomes, quick);
    const lines = verdictLines(u, items.length, 1);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("over 40 test items × 1 seed: item noise only, seed noise is not in it): ");
    expect(lines[0]).toContain("seapo-mixed-kto 75.0% [");
    expect(lines[0]).toContain("vanilla-kto 50.0% [");
    expect(lines[1]).toMatch(
      /^ {2}seapo-mixed-kto − vanilla-kto: \+25\.0 points \[\+\d+\.\d, \+\d+\.\d\]: SeaPO is ahead$/,
    );
    const tie = demoUncertainty(
      items,
      dims,
      outcomes.map((o) => ({ ...o, correct: row((i) => i % 3 === 0) })),
      quick,
    );
    expect(verdictLines(tie, items.length, 1)[2]).toBe(
      "  seapo-mixed-kto − base: +0.0 points [+0.0, +0.0]: within noise (the interval covers 0)",
    );
  });

  it("the report shows the intervals when results.json has them, and nothing for older files", () => {
    const old = demoResults();
    expect(uncertaintyRows(old)).toBeUndefined();
    expect(vanillaPairsNote(old)).toBeUndefined();
    const withIntervals = {
      ...old,
      uncertainty: demoUncertainty(items, dims, outcomes, quick),
      vanilla: {
        rewardNoise: { sigma: 0.5, expectedReversedShare: 0.0786, rationale: "" },
        perSeed: [{ seed: 1, pairs: 10, informative: 4, bothRight: 3, bothWrong: 2, reversed: 1 }],
      },
    };
    const rows = uncertaintyRows({ ...withIntervals, arms: old.arms.slice(0, 1) })!;
    expect(rows[0]![0]).toBe("base");
    expect(rows[0]![1]).toMatch(/^50\.0 <span class="std">\[/);
    expect(vanillaPairsNote(withIntervals)).toBe(
      "Vanilla pairs (reward noise σ = 0.5, expected 7.9% of decisive pairs reversed): seed 1: 4 informative, 5 near-ties, 1 reversed of 10.",
    );
  });
});
