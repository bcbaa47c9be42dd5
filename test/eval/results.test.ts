import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatComparison, readResults, withinNoise, type TabulatedResults } from "../../src/eval/results.js";
import { dataDir } from "./fixtures.js";

const file = (modelId: string, results: TabulatedResults["results"]): TabulatedResults => ({
  promptFormatVersion: "1",
  model: { modelId },
  results,
});

describe("withinNoise", () => {
  it.each([
    // 2·sqrt(0.02² + 0.02²) = 0.0566
    [{ value: 0.6, stderr: 0.02 }, { value: 0.65, stderr: 0.02 }, true],
    [{ value: 0.6, stderr: 0.02 }, { value: 0.66, stderr: 0.02 }, false],
    [{ value: 0.6, stderr: null }, { value: 0.6, stderr: 0.01 }, undefined],
  ])("%j vs %j → %s", (a, b, expected) => expect(withinNoise(a, b)).toBe(expected));
});

describe("formatComparison", () => {
  it("lines up each metric, marks deltas within noise with ~ and beyond it with *", () => {
    const a = file("base", {
      arc_easy: { metrics: { acc: { value: 0.6, stderr: 0.02 }, acc_norm: { value: 0.6, stderr: 0.02 } } },
      mmlu: {
        metrics: { acc: { value: 0.5, stderr: 0.01 } },
        groups: { stem: { metrics: { acc: { value: 0.4, stderr: 0.02 } } } },
      },
    });
    const b = file("tuned", {
      arc_easy: { metrics: { acc: { value: 0.62, stderr: 0.02 }, acc_norm: { value: 0.7, stderr: 0.02 } } },
      gsm8k_cot: { metrics: { "exact_match,strict-match": { value: 0.3, stderr: 0.05 } } },
    });
    const text = formatComparison([
      { label: "A", results: a },
      { label: "B", results: b },
    ]);
    const row = (name: string) => text.split("\n").find((l) => l.startsWith(name))!;
    expect(row("arc_easy acc ")).toMatch(/0\.6000 ± 0\.0200\s+0\.6200 ± 0\.0200\s+\+0\.0200 ~$/);
    expect(row("arc_easy acc_norm")).toMatch(/\+0\.1000 \*$/);
    expect(row("  mmlu/stem acc")).toMatch(/0\.4000 ± 0\.0200\s+–\s+–$/);
    expect(row("gsm8k_cot exact_match,strict-match")).toMatch(/–\s+0\.3000 ± 0\.0500\s+–$/);
    expect(text).toContain("A: base");
    expect(text).toContain("B: tuned");
  });

  it("warns when the prompt formats differ", () => {
    const text = formatComparison([
      { label: "A", results: file("x", {}) },
      { label: "B", results: { ...file("y", {}), promptFormatVersion: "2" } },
    ]);
    expect(text).toMatch(/prompt format versions differ/);
  });
});

describe("readResults", () => {
  it("names the field of a malformed results file", async () => {
    const dir = dataDir({});
    const path = join(dir, "bad.json");
    writeFileSync(
      path,
      JSON.stringify({
        format: "seapo-eval-results",
        formatVersion: 1,
        seapoVersion: "0.1.0",
        promptFormatVersion: "1",
        createdAt: "2026-01-01T00:00:00.000Z",
        model: { kind: "other", provider: "test", modelId: "m" },
        config: {},
        data: { dir: "data", files: {} },
        requests: { total: 1 },
        durationMs: 1,
        results: { mmlu: { n: 1, metrics: { acc: { value: "high", stderr: null } } } },
      }),
    );
    await expect(readResults(path)).rejects.toThrow(new RegExp(`^${path}:results\\.mmlu\\.metrics\\.acc\\.value: `));
    await expect(readResults(join(dir, "absent.json"))).rejects.toThrow(/absent\.json: results file not found/);
  });
});
