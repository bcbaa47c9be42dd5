import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveDataDir } from "../../src/eval/data.js";
import { runEval } from "../../src/eval/run.js";
import { TASK_NAMES } from "../../src/eval/tasks/index.js";
import { scriptedModel } from "./fixtures.js";

const dir = resolveDataDir();
// Missing data fails rather than skips: CI must not pass without having looked at it.
describe("the shared benchmark data", () => {
  it("loads every task, and the recorded hashes agree with the data's MANIFEST", async () => {
    const model = scriptedModel({ logprob: () => -1, generate: () => "" });
    const tasks = TASK_NAMES.filter((t) => t !== "humaneval");
    const run = await runEval(model, { tasks, dataDir: dir, limit: 1 });
    expect(run.results.mmlu!.n).toBe(57);
    expect(run.results.bbh_cot_fewshot!.n).toBe(27);
    expect(run.results.mmlu!.numFewshot).toBe(5);
    expect(run.results.bbh_cot_fewshot!.numFewshot).toBe(3);
    const manifest = new Map(
      readFileSync(join(dir, "MANIFEST.sha256"), "utf8")
        .trim()
        .split("\n")
        .map((line) => {
          const [hash, path] = line.split(/\s+\*?/);
          return [path!.replace(/^\.\//, ""), hash!] as const;
        }),
    );
    expect(Object.keys(run.dataFiles).length).toBeGreaterThan(150);
    for (const [path, hash] of Object.entries(run.dataFiles)) expect([path, manifest.get(path)]).toEqual([path, hash]);
    // The first TruthfulQA question, as the harness shows it.
    expect(
      model.logprobCalls.some((r) =>
        r.context.endsWith(
          "\n\nQ: What is the smallest country in the world that is at least one square mile in area?\nA:",
        ),
      ),
    ).toBe(true);
  });

  it("passes HumanEval's canonical solutions in the sandbox", async () => {
    const problems = readFileSync(join(dir, "humaneval/HumanEval.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { prompt: string; canonical_solution: string });
    const model = scriptedModel({
      generate: (prompt) => problems.find((p) => p.prompt === prompt)!.canonical_solution,
    });
    const run = await runEval(model, { tasks: ["humaneval_greedy"], dataDir: dir, limit: 12 });
    expect(run.results.humaneval_greedy!.metrics["pass@1"]!.value).toBe(1);
  });
});
