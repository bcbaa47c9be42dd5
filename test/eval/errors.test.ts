import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, SeapoError } from "../../src/errors.js";
import { runEval } from "../../src/eval/run.js";
import { resolveTaskNames, TASK_NAMES } from "../../src/eval/tasks/index.js";
import { MMLU_SUBJECTS } from "../../src/eval/tasks/mmlu.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";

const model = scriptedModel({ logprob: () => -1, generate: () => "" });

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

describe("bad input", () => {
  it("names a missing data file and how to point at the data", async () => {
    const dir = dataDir({});
    const error = await failure(runEval(model, { tasks: ["truthfulqa_mc1"], dataDir: dir }));
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain(join(dir, "truthfulqa/mc_task_v0.jsonl"));
    expect(error.message).toMatch(/data file not found[\s\S]*--data-dir/);
  });

  it("names file, line and field of a row missing a field", async () => {
    const dir = dataDir({ "gsm8k/test.jsonl": jsonl([{ question: "q", answer: "#### 1" }, { question: "q2" }]) });
    const error = await failure(runEval(model, { tasks: ["gsm8k_cot"], dataDir: dir }));
    expect(error.message).toMatch(new RegExp(`^${join(dir, "gsm8k/test.jsonl")}:2:answer: `));
  });

  it("names the line of a row that is not JSON", async () => {
    const dir = dataDir({ "humaneval/HumanEval.jsonl": '{"task_id": "x"\n' });
    const error = await failure(runEval(model, { tasks: ["humaneval_greedy"], dataDir: dir }));
    expect(error.message).toContain(`${join(dir, "humaneval/HumanEval.jsonl")}:1: not valid JSON`);
  });

  it("names the nested field of a malformed TruthfulQA row", async () => {
    const row = {
      question: "q",
      mc1_targets: { choices: ["a", "b"], labels: [1, 0] },
      mc2_targets: { choices: ["a", "b"], labels: [1, "0"] },
    };
    const dir = dataDir({ "truthfulqa/mc_task_v0.jsonl": jsonl([row]) });
    const error = await failure(runEval(model, { tasks: ["truthfulqa_mc2"], dataDir: dir }));
    expect(error.message).toContain(":1:mc2_targets.labels.1:");
  });

  it("names the line and field of a bad MMLU answer letter and of a short CSV record", async () => {
    const files: Record<string, string> = {};
    for (const s of Object.keys(MMLU_SUBJECTS)) {
      files[`mmlu/dev/${s}_dev.csv`] = "q,a,b,c,d,A\n".repeat(5);
      files[`mmlu/test/${s}_test.csv`] = "q,a,b,c,d,A\n";
    }
    files["mmlu/test/anatomy_test.csv"] = 'q,a,b,c,d,A\n"two\nlines",a,b,c,d,E\n';
    let error = await failure(runEval(model, { tasks: ["mmlu"], dataDir: dataDir(files) }));
    expect(error.message).toMatch(/mmlu\/test\/anatomy_test\.csv:2:answer: expected A, B, C or D, found "E"/);
    files["mmlu/test/anatomy_test.csv"] = "q,a,b,c,d,A\nq,a,b,c\n";
    error = await failure(runEval(model, { tasks: ["mmlu"], dataDir: dataDir(files) }));
    expect(error.message).toMatch(/anatomy_test\.csv:2:D: expected 6 fields/);
  });

  it("names an ARC answer key that matches no choice", async () => {
    const row = {
      id: "x",
      question: {
        stem: "s",
        choices: [
          { text: "a", label: "A" },
          { text: "b", label: "B" },
        ],
      },
      answerKey: "C",
    };
    const dir = dataDir({ "arc/ARC-Challenge/ARC-Challenge-Test.jsonl": jsonl([row, row]) });
    const error = await failure(runEval(model, { tasks: ["arc_challenge"], dataDir: dir }));
    expect(error.message).toMatch(
      /ARC-Challenge-Test\.jsonl:1:answerKey: "C" is not one of the choice labels \(A, B\)/,
    );
  });

  it("lists the known tasks for an unknown name", () => {
    expect(() => resolveTaskNames("mmlu,hellaswag")).toThrow(InputError);
    try {
      resolveTaskNames("mmlu,hellaswag");
    } catch (error) {
      expect((error as Error).message).toContain('unknown task "hellaswag"');
      for (const name of TASK_NAMES) expect((error as Error).message).toContain(name);
    }
  });

  it("expands groups and drops duplicates", () => {
    expect(resolveTaskNames("truthfulqa, truthfulqa_mc1,arc")).toEqual([
      "truthfulqa_mc1",
      "truthfulqa_mc2",
      "arc_easy",
      "arc_challenge",
    ]);
    expect(resolveTaskNames("paper")).toEqual([
      "bbh_cot_fewshot",
      "humaneval",
      "gsm8k_cot",
      "minerva_math500",
      "mmlu",
      "truthfulqa_mc1",
      "truthfulqa_mc2",
    ]);
  });

  it("refuses more exemplars than a task has", async () => {
    const dir = dataDir({ "gsm8k/test.jsonl": jsonl([{ question: "q", answer: "#### 1" }]) });
    const error = await failure(runEval(model, { tasks: ["gsm8k_cot"], dataDir: dir, numFewshot: 9 }));
    expect(error.message).toMatch(/--num-fewshot: gsm8k_cot can use at most 8 exemplars/);
    const tqa = await failure(runEval(model, { tasks: ["truthfulqa_mc1"], dataDir: dir, numFewshot: 1 }));
    expect(tqa.message).toMatch(/truthfulqa_mc1 can use at most 0 exemplars/);
  });

  it("says clearly when a log-likelihood task meets a backend without log-probs", async () => {
    const row = {
      question: "q",
      mc1_targets: { choices: ["a", "b"], labels: [1, 0] },
      mc2_targets: { choices: ["a", "b"], labels: [1, 0] },
    };
    const dir = dataDir({ "truthfulqa/mc_task_v0.jsonl": jsonl([row]) });
    const chatOnly = scriptedModel({ generate: () => "" });
    const error = await failure(runEval(chatOnly, { tasks: ["truthfulqa_mc1"], dataDir: dir }));
    expect(error).toBeInstanceOf(SeapoError);
    expect(error.message).toMatch(/truthfulqa_mc1 scores answers by log-likelihood.*no log-probabilities/);
  });
});

describe("a failing backend", () => {
  it("stops the run with the backend's error instead of hanging", async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ question: `q${i}`, answer: `#### ${i}` }));
    const dir = dataDir({ "gsm8k/test.jsonl": jsonl(rows) });
    let calls = 0;
    const flaky = scriptedModel({
      generate: () => {
        if (++calls === 3) throw new Error("server went away");
        return "The answer is 1.";
      },
    });
    await expect(runEval(flaky, { tasks: ["gsm8k_cot"], dataDir: dir, concurrency: 2 })).rejects.toThrow(
      "server went away",
    );
    expect(calls).toBeLessThan(30);
  });
});
