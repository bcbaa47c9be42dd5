import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultDemoOptions, RESULTS_FILE, runDemo } from "../../src/demo/index.js";

/** A run small enough to repeat: every arm of --quick, 2 steps, 4 training and 3 test prompts per dimension. */
async function tinyRun(seed: number): Promise<Record<string, unknown>> {
  const out = join(await mkdtemp(join(tmpdir(), "seapo-demo-repro-")), "demo");
  const options = { ...defaultDemoOptions(true), seeds: [seed], steps: 2, trainPerDimension: 4 };
  await runDemo({ ...options, testPerDimension: 3, analyzePerDimension: 3, out, log: () => {} });
  const results = JSON.parse(readFileSync(join(out, RESULTS_FILE), "utf8")) as Record<string, unknown>;
  // Wall times, the finishing time and the run's own folder are the only fields allowed to differ.
  const { timings: _t, finishedAt: _f, config, ...rest } = results;
  return { ...rest, config: { ...(config as object), out: undefined } };
}

describe("seapo demo", () => {
  it("gives the same results.json, per-item outcomes and intervals included, for the same seed", async () => {
    const a = await tinyRun(1);
    const b = await tinyRun(1);
    expect(b).toEqual(a);
    // Seven arms of --quick, one seed: one outcome row each, one character per test item.
    expect((a.outcomes as Array<{ correct: string }>).map((o) => o.correct.length)).toEqual(Array(7).fill(15));
  }, 600_000);
});
