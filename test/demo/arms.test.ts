import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/index.js";
import { armSpecs, onPolicyRecords, seapoRecords, writePreferenceFiles } from "../../src/demo/arms.js";
import { comparisons } from "../../src/demo/uncertainty.js";
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
    const full = armSpecs("paper").map((a) => a.name);
    const quick = armSpecs("quick").map((a) => a.name);
    expect(full).toHaveLength(1 + 2 + 5 * 2);
    expect(new Set(full).size).toBe(full.length);
    expect(quick.every((name) => full.includes(name))).toBe(true);
    expect(armSpecs("main").map((a) => a.name)).toEqual([
      "base",
      "vanilla-kto",
      "vanilla-dpo",
      "seapo-mixed-kto",
      "seapo-mixed-dpo",
    ]);
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

describe("--full's extra arms", () => {
  it("adds all (listwise, multi_dpo) and on-policy (KTO and DPO), compared with vanilla-dpo and vanilla-kto", () => {
    const names = armSpecs("full").map((a) => a.name);
    expect(names.slice(-3)).toEqual(["seapo-all-multi", "seapo-on-policy-kto", "seapo-on-policy-dpo"]);
    const refs = comparisons(armSpecs("full"));
    expect(refs.filter((r) => r.arm === "seapo-all-multi").map((r) => r.reference)).toEqual(["vanilla-dpo", "base"]);
  });

  it("all injects every type into each gold answer, and dpo_multi.jsonl holds one conversational row per prompt", () => {
    const some = items.slice(0, 20);
    const { records, skipped } = seapoRecords(world, some, "all", "logic", 3);
    expect(records.length + skipped).toBe(20 * worldErrorTypes.length);
    const dir = mkdtempSync(join(tmpdir(), "seapo-arms-multi-"));
    const files = writePreferenceFiles(dir, records);
    const rows = readFileSync(files.multi!, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as MultiLine);
    expect(rows).toHaveLength(new Set(records.map((r) => r.sourceId)).size);
    for (const row of rows) {
      const mine = records.filter((r) => r.prompt === row.prompt[0]!.content);
      expect(row.chosen).toEqual([{ role: "assistant", content: mine[0]!.chosen }]);
      expect(row.rejected.map((turns) => turns[0]!.content)).toEqual(mine.map((r) => r.rejected));
    }
  });

  it("on-policy injects into the base model's own right answers and leaves out the prompts it got wrong", () => {
    const some = items.slice(0, 10);
    // Answers as the model might give them: right for the even items, wrong (another item's) for the odd.
    const answers = some.map((item, i) => (i % 2 === 0 ? item.answer : some[(i + 1) % some.length]!.answer));
    const wrong = some.filter((item, i) => !checkAnswer(world, item, answers[i]!).correct).length;
    const { records, wrong: counted, skipped } = onPolicyRecords(world, some, answers, 2);
    expect(counted).toBe(wrong);
    expect(records.length + skipped + counted).toBe(10);
    for (const r of records) {
      const item = byId.get(r.sourceId)!;
      expect(r.chosen).toBe(answers[some.indexOf(item)]);
      expect(checkAnswer(world, item, r.rejected).correct).toBe(false);
    }
  });
});

type MultiLine = {
  prompt: Array<{ content: string }>;
  chosen: Array<{ role: string; content: string }>;
  rejected: Array<Array<{ content: string }>>;
};
