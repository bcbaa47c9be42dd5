import { describe, expect, it } from "vitest";
import { defaultBaseOptions } from "../../src/demo/base.js";
import { isValidationKey, protocolSplits, splitPools, VALIDATION_FRACTION } from "../../src/demo/splits.js";
import { createWorld, dimensions, generateTasks, type WorldItem } from "../../src/demo/world/index.js";

// The shipped base model's world: the splits the demo really uses.
const worldSeed = defaultBaseOptions.worldSeed;
const tasks = generateTasks(createWorld(worldSeed));
const pools = splitPools(worldSeed, tasks);
const all = (split: (typeof protocolSplits)[number]): WorldItem[] => dimensions.flatMap((d) => pools[split][d]);

describe("the protocol's train / validation / test splits", () => {
  it("share no content key, prompt or item id between any two splits", () => {
    for (const [i, a] of protocolSplits.entries()) {
      for (const b of protocolSplits.slice(i + 1)) {
        for (const field of ["key", "prompt", "id"] as const) {
          const seen = new Set(all(a).map((item) => item[field]));
          const shared = all(b).filter((item) => seen.has(item[field]));
          expect(shared.map((item) => `${a}/${b} ${field}: ${item[field]}`)).toEqual([]);
        }
      }
    }
  });

  it("cut every held-out item into validation or test, by its key alone", () => {
    for (const d of dimensions) {
      expect(pools.validation[d].length + pools.test[d].length).toBe(tasks[d].test.length);
      expect(pools.train[d]).toBe(tasks[d].train);
      for (const item of pools.validation[d]) expect(isValidationKey(worldSeed, item.key)).toBe(true);
      for (const item of pools.test[d]) expect(isValidationKey(worldSeed, item.key)).toBe(false);
    }
    // The cut is near the stated share of keys, and the same world gives the same splits.
    const held = all("validation").length + all("test").length;
    expect(Math.abs(all("validation").length / held - VALIDATION_FRACTION)).toBeLessThan(0.05);
    const again = splitPools(worldSeed, tasks);
    for (const split of protocolSplits)
      expect(dimensions.map((d) => again[split][d].map((i) => i.id))).toEqual(
        dimensions.map((d) => pools[split][d].map((i) => i.id)),
      );
  });

  it("has these sizes in world 1 (docs/science.md quotes them)", () => {
    const sizes = Object.fromEntries(dimensions.map((d) => [d, protocolSplits.map((split) => pools[split][d].length)]));
    expect(sizes).toEqual({
      knowledge: [1113, 84, 115],
      math: [2000, 84, 116],
      reasoning: [2000, 78, 122],
      truthfulness: [2000, 85, 115],
      code: [2000, 80, 120],
    });
  });
});
