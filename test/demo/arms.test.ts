import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/index.js";
import { armSpecs, seapoRecords } from "../../src/demo/arms.js";
import { sampleItems } from "../../src/demo/evaluate.js";
import { spread } from "../../src/demo/aggregate.js";
import {
  checkAnswer,
  createWorld,
  dimensions,
  generateTasks,
  worldErrorTypes,
  type WorldItem,
} from "../../src/demo/world/index.js";

const world = createWorld(1);
const tasks = generateTasks(world);
const trainPool = Object.fromEntries(dimensions.map((d) => [d, tasks[d].train])) as Record<
  (typeof dimensions)[number],
  WorldItem[]
>;
const items = sampleItems(trainPool, 30, new Rng(5));
const byId = new Map(items.map((i) => [i.id, i]));

describe("demo arms", () => {
  it("pairs every trained arm with KTO and DPO, and the quick set is a subset", () => {
    const full = armSpecs({ quick: false }).map((a) => a.name);
    const quick = armSpecs({ quick: true }).map((a) => a.name);
    expect(full).toHaveLength(1 + 2 + 5 * 2);
    expect(new Set(full).size).toBe(full.length);
    expect(quick.every((name) => full.includes(name))).toBe(true);
    for (const name of full.filter((n) => n !== "base"))
      expect(name.endsWith("-kto") || name.endsWith("-dpo")).toBe(true);
  });

  it("sampleItems is seeded and balanced across dimensions", () => {
    expect(sampleItems(trainPool, 30, new Rng(5)).map((i) => i.id)).toEqual(items.map((i) => i.id));
    expect(sampleItems(trainPool, 30, new Rng(6)).map((i) => i.id)).not.toEqual(items.map((i) => i.id));
    for (const d of dimensions) expect(items.filter((i) => i.dimension === d)).toHaveLength(30);
  });

  it.each(worldErrorTypes)(
    "single:%s pairs the gold answer with a negative the checker finds that error in",
    (type) => {
      const { records, skipped } = seapoRecords(world, items, `single:${type}`, "correctness", 3);
      expect(records.length + skipped).toBe(items.length);
      expect(records.length).toBeGreaterThan(items.length / 2);
      let matches = 0;
      for (const r of records) {
        const item = byId.get(r.sourceId)!;
        expect(r.errorType).toBe(type);
        expect(r.chosen).toBe(item.answer);
        expect(checkAnswer(world, item, r.chosen).correct).toBe(true);
        const verdict = checkAnswer(world, item, r.rejected);
        expect(verdict.correct).toBe(false);
        if (verdict.errorType === type) matches++;
      }
      expect(matches / records.length).toBeGreaterThanOrEqual(0.9);
    },
  );

  it("mixed draws one type per prompt from (seed, id), covering every type", () => {
    const a = seapoRecords(world, items, "mixed", "correctness", 3).records;
    const b = seapoRecords(world, items, "mixed", "correctness", 3).records;
    expect(a.map((r) => r.errorType)).toEqual(b.map((r) => r.errorType));
    for (const type of worldErrorTypes) expect(a.filter((r) => r.errorType === type).length).toBeGreaterThan(10);
    expect(new Set(a.map((r) => r.sourceId)).size).toBe(a.length);
  });

  it("most-common uses the analysed type", () => {
    const { records } = seapoRecords(world, items, "most-common", "logic", 3);
    expect(records.every((r) => r.errorType === "logic")).toBe(true);
  });

  it("spread is the mean and sample standard deviation over seeds", () => {
    expect(spread([0.5])).toEqual({ mean: 0.5, std: 0, perSeed: [0.5] });
    const s = spread([0.2, 0.4, 0.6]);
    expect(s.mean).toBeCloseTo(0.4, 12);
    expect(s.std).toBeCloseTo(0.2, 12);
  });
});
