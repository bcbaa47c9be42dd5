import type { DataReader } from "../../data.js";
import { passAtK } from "../../metrics.js";
import { fewshotCount, generations, takeLimit } from "../../tasks/common.js";
import { HUMANEVAL_STOP, humanevalJob, humanevalRow } from "../../tasks/humaneval.js";
import type { EvalInstance, GenerationRequest, LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiSource, PAPER_TASK_VERSION } from "./common.js";

/** eval/codex_humaneval/run_eval.py with the paper's settings: 20 samples, T = 0.8, top-p 0.95, 512 new tokens. */
export const PAPER_HUMANEVAL_SAMPLING = { samples: 20, temperature: 0.8, topP: 0.95, maxTokens: 512, k: 10 } as const;

/** The raw HumanEval prompt, sampled 20 times with the Codex stop sequences (the same as the default harness's). */
export function paperHumanevalRequests(prompt: string, maxTokens: number): GenerationRequest[] {
  const { samples, temperature, topP } = PAPER_HUMANEVAL_SAMPLING;
  return Array.from({ length: samples }, (_, i) => ({
    kind: "generate",
    prompt,
    stop: HUMANEVAL_STOP,
    maxTokens,
    temperature,
    topP,
    seed: i,
  }));
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  fewshotCount("humaneval", options.numFewshot, 0, 0, "it is zero-shot");
  const maxTokens = options.maxGenTokens ?? PAPER_HUMANEVAL_SAMPLING.maxTokens;
  const problems = takeLimit(await data.jsonl("humaneval/HumanEval.jsonl", humanevalRow), options.limit);
  const instances = problems.map((p): EvalInstance => ({
    id: p.task_id,
    target: p.canonical_solution,
    requests: paperHumanevalRequests(p.prompt, maxTokens),
    async score(responses, context) {
      if (!context.sandbox) throw new Error("humaneval needs a sandbox");
      const runs = await Promise.all(generations(responses).map((c) => context.sandbox!.run(humanevalJob(p, c))));
      const correct = runs.filter((r) => r.status === "passed").length;
      return {
        metrics: { "pass@10": passAtK(runs.length, correct, PAPER_HUMANEVAL_SAMPLING.k) },
        extracted: runs.map((r) => r.status),
      };
    },
  }));
  const { samples, temperature, topP } = PAPER_HUMANEVAL_SAMPLING;
  return {
    instances,
    numFewshot: 0,
    settings: { samples, temperature, topP, ks: [10], stop: HUMANEVAL_STOP, maxTokens },
  };
}

export const paperHumanevalTask = {
  dimension: "code",
  description: "HumanEval, 20 samples at T=0.8, top-p 0.95, 512 new tokens: unbiased pass@10, tests run in a sandbox",
  harnessTask: oiSource("eval/codex_humaneval/run_eval.py", "pass@10 only, n = 20, T = 0.8, top-p 0.95"),
  versions: { current: PAPER_TASK_VERSION },
  metrics: ["pass@10"],
  needsSandbox: true,
  load,
} satisfies TaskDefinition;
