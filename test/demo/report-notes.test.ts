import { describe, expect, it } from "vitest";
import type { DemoResults } from "../../src/demo/index.js";
import { logprobNotes } from "../../src/report/demo-uncertainty.js";

const arm = (name: string, heldOutGold?: Array<{ seed: number; before: number | null; after: number | null }>) =>
  ({ name, heldOutGold }) as unknown as DemoResults["arms"][number];

describe("the demo report's log-prob notes", () => {
  it("state the negative-plausibility figures per seed and the held-out gold change per arm", () => {
    const demo = {
      arms: [
        arm("base"),
        arm("vanilla-kto", [
          { seed: 1, before: -0.5, after: -0.75 },
          { seed: 2, before: -0.5, after: -0.25 },
        ]),
        arm("seapo-mixed-kto", [{ seed: 1, before: -0.5, after: -1.5 }]),
      ],
      plausibility: [
        {
          seed: 1,
          gold: { mean: -0.123, n: 10 },
          seapo: { mean: -1.5, n: 9 },
          seapoByType: {},
          sampledWrong: { mean: null, n: 0 },
        },
      ],
    } as unknown as DemoResults;
    expect(logprobNotes(demo)).toEqual([
      "Seed 1, base model's mean per-token log-prob: gold -0.12 (10), SeaPO negatives -1.50 (9), its own wrong samples – (0).",
      "Held-out gold answers, change of mean per-token log-prob over training (seed mean): vanilla-kto 0.000, seapo-mixed-kto -1.000.",
    ]);
    expect(logprobNotes({ arms: [arm("base")] } as unknown as DemoResults)).toEqual([]);
  });
});
