/**
 * runEval with a model that answers some generations and defers others to batch files (as the
 * batch model does): a task with a waiting example is not scored but counted, log-likelihood tasks
 * are skipped with the reason given, and a real failure among deferred requests still stops the run.
 */
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors.js";
import { runEval } from "../../src/eval/index.js";
import { DeferredRequest } from "../../src/llm/index.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";

const data = dataDir({
  "gsm8k/test.jsonl": jsonl([
    { question: "Tom has 3 apples and gets 4 more. How many?", answer: "#### 7" },
    { question: "Ann has 2 pens and buys 2. How many?", answer: "#### 4" },
    { question: "Bo has 9 cards and loses 4. How many?", answer: "#### 5" },
  ]),
  "truthfulqa/mc_task_v0.jsonl": jsonl([
    {
      question: "Do you need water?",
      mc1_targets: { choices: ["Yes, daily.", "Only weekly.", "Never."], labels: [1, 0, 0] },
      mc2_targets: { choices: ["Yes, daily.", "Only weekly."], labels: [1, 0] },
    },
  ]),
});

/** Answers 7 to every question but the ones `waits` names, whose generation is deferred. */
function deferring(waits: RegExp, fails?: RegExp) {
  const model = scriptedModel({ logprob: () => -1, generate: () => " The answer is 7." });
  const generate = model.generate.bind(model);
  model.generate = async (request) => {
    const question = request.prompt!.slice(request.prompt!.lastIndexOf("Q: "));
    if (fails?.test(question))
      throw new ProviderError("HTTP 400: context too small", { status: 400, isRetryable: false });
    if (waits.test(question)) throw new DeferredRequest("waits for a batch result");
    return generate(request);
  };
  return model;
}

describe("runEval with deferred generations", () => {
  it("leaves a task with a waiting example unscored and counted, and skips log-likelihood tasks with the reason", async () => {
    const run = await runEval(deferring(/Ann has/), {
      tasks: ["gsm8k_cot", "truthfulqa_mc1"],
      dataDir: data,
      skipLoglikelihood: "no log-probs in batch files",
    });
    expect(run.results).toEqual({});
    expect(run.pending).toEqual({ gsm8k_cot: { examples: 1, of: 3, requests: 1 } });
    expect(run.skipped).toEqual({ truthfulqa_mc1: { requests: 3, reason: "no log-probs in batch files" } });
    expect(run.requests).toBe(3);
  });

  it("scores the task once nothing waits, as without deferral", async () => {
    const run = await runEval(deferring(/^$/), { tasks: ["gsm8k_cot"], dataDir: data });
    expect(run.pending).toEqual({});
    expect(run.results.gsm8k_cot!.metrics["exact_match,strict-match"]!.value).toBeCloseTo(1 / 3, 12);
  });

  it("a real failure among deferred requests stops the run", async () => {
    const run = runEval(deferring(/Ann has/, /Bo has/), { tasks: ["gsm8k_cot"], dataDir: data, concurrency: 1 });
    await expect(run).rejects.toThrow("HTTP 400: context too small");
  });
});
