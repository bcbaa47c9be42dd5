import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtinErrorTypes } from "../../src/negatives/error-types.js";
import { parseStrategy, seededUniform, typesForRow } from "../../src/negatives/strategy.js";

const types = [...builtinErrorTypes];
const dir = mkdtempSync(join(tmpdir(), "seapo-strategy-"));
const analysis = join(dir, "analysis.json");
writeFileSync(analysis, JSON.stringify({ distribution: { correctness: 0.7, logic: 0.2, hallucination: 0.1 } }));

describe("parseStrategy", () => {
  it("single:<type> injects that type only", async () => {
    const strategy = await parseStrategy("single:logic", types);
    expect(typesForRow(strategy, "row-1", 0).map((t) => t.name)).toEqual(["logic"]);
  });

  it.each(["all", "mixed"])("%s injects every type", async (name) => {
    const strategy = await parseStrategy(name, types);
    expect(typesForRow(strategy, "row-1", 0).map((t) => t.name)).toEqual(["correctness", "logic", "hallucination"]);
  });

  it("most-common takes the largest share of the analysis", async () => {
    const strategy = await parseStrategy("most-common", types, analysis);
    expect(typesForRow(strategy, "anything", 3).map((t) => t.name)).toEqual(["correctness"]);
  });

  it("weighted draws types in proportion to the measured distribution, the same way on every run", async () => {
    const strategy = await parseStrategy("weighted", types, analysis);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 5000; i++) {
      const [type] = typesForRow(strategy, `row-${i}`, 1);
      counts[type!.name] = (counts[type!.name] ?? 0) + 1;
    }
    expect(counts.correctness! / 5000).toBeGreaterThan(0.66);
    expect(counts.correctness! / 5000).toBeLessThan(0.74);
    expect(counts.hallucination! / 5000).toBeGreaterThan(0.08);
    expect(counts.hallucination! / 5000).toBeLessThan(0.12);
    // Golden draws (computed once): a resumed run, or one on another machine, must make the same choices.
    const draws = Array.from({ length: 12 }, (_, i) => typesForRow(strategy, `row-${i}`, 1)[0]!.name);
    expect(draws).toEqual([
      "correctness",
      "correctness",
      "correctness",
      "correctness",
      "correctness",
      "correctness",
      "logic",
      "correctness",
      "logic",
      "correctness",
      "hallucination",
      "correctness",
    ]);
  });

  it.each([
    ["single:typo", undefined, /unknown error type "typo".*\n.*known types: correctness, logic, hallucination/],
    ["most-common", undefined, /needs --analysis/],
    ["random", undefined, /unknown strategy "random"/],
    ["weighted", "missing.json", /missing.json: cannot read the analysis/],
  ])("%s with analysis %s fails clearly", async (spec, file, message) => {
    await expect(parseStrategy(spec, types, file)).rejects.toThrow(message);
  });
});

describe("seededUniform", () => {
  it("depends on seed, row and purpose, and stays in [0, 1)", () => {
    const a = seededUniform(0, "r", "mixed");
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    expect(seededUniform(1, "r", "mixed")).not.toBe(a);
    expect(seededUniform(0, "s", "mixed")).not.toBe(a);
    expect(seededUniform(0, "r", "weighted")).not.toBe(a);
  });

  it("gives the golden draws (computed once), the same in every process and on every machine", () => {
    expect(seededUniform(0, "r", "mixed")).toBe(0.37981098792377566);
    expect(seededUniform(1, "r", "mixed")).toBe(0.8876988744347933);
    expect(seededUniform(0, "s", "mixed")).toBe(0.13959305372403463);
    expect(seededUniform(0, "r", "weighted")).toBe(0.7091240549659652);
  });
});
