import { describe, expect, it } from "vitest";
import { baseOptionsFor, defaultBaseOptions, worldOfRecipe } from "../../src/demo/base.js";
import { isValidationKey, protocolSplits, splitPools, VALIDATION_FRACTION } from "../../src/demo/splits.js";
import { createWorld, dimensions, generateTasks, worldVersions, type WorldItem } from "../../src/demo/world/index.js";

// The shipped base model's world: the splits the demo really uses.
const worldSeed = defaultBaseOptions.worldSeed;
const tasks = generateTasks(createWorld(worldSeed));
const pools = splitPools(worldSeed, tasks);
const all = (split: (typeof protocolSplits)[number]): WorldItem[] => dimensions.flatMap((d) => pools[split][d]);

/** Each world version's splits, generated once (world 2 takes a few seconds). */
const versionSplits = new Map<number, ReturnType<typeof splitPools>>();
function splitsOf(version: (typeof worldVersions)[number]) {
  if (!versionSplits.has(version)) {
    const recipe = baseOptionsFor(version);
    versionSplits.set(version, splitPools(recipe.worldSeed, worldOfRecipe(recipe).tasks));
  }
  return versionSplits.get(version)!;
}

describe.each(worldVersions)("world %i's splits", (version) => {
  const items = (split: (typeof protocolSplits)[number]) => dimensions.flatMap((d) => splitsOf(version)[split][d]);

  it("share no content key, prompt or item id between any two splits", () => {
    for (const [i, a] of protocolSplits.entries()) {
      for (const b of protocolSplits.slice(i + 1)) {
        for (const field of ["key", "prompt", "id"] as const) {
          const seen = new Set(items(a).map((item) => item[field]));
          expect(items(b).filter((item) => seen.has(item[field])).length, `${a}/${b} share a ${field}`).toBe(0);
        }
      }
    }
  });
});

describe("world 2 (the --full run's)", () => {
  it("has at least 300 test items per dimension (docs/science.md quotes these sizes)", () => {
    const v2Pools = splitsOf(2);
    const sizes = Object.fromEntries(
      dimensions.map((d) => [d, protocolSplits.map((split) => v2Pools[split][d].length)]),
    );
    expect(sizes).toEqual({
      knowledge: [1799, 234, 326],
      math: [2000, 220, 340],
      reasoning: [2000, 237, 323],
      truthfulness: [2000, 237, 323],
      code: [2000, 231, 329],
    });
    for (const d of dimensions) expect(v2Pools.test[d].length).toBeGreaterThanOrEqual(300);
  });
});

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
