import { z } from "zod";
import type { DataReader } from "../data.js";
import type { SandboxJob } from "../sandbox.js";
import { passAtK } from "../metrics.js";
import type { EvalInstance, GenerationRequest, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { fewshotCount, generations, takeLimit } from "./common.js";

/** A row of HumanEval.jsonl. */
export const humanevalRow = z.object({
  task_id: z.string(),
  prompt: z.string(),
  entry_point: z.string(),
  canonical_solution: z.string(),
  test: z.string(),
});

/** The harness's max_gen_toks for humaneval. */
export const HUMANEVAL_MAX_TOKENS = 1024;

/** Generation stops where a new top-level statement would begin. */
export const HUMANEVAL_STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

/** What runs in the sandbox: the prompt, the completion, the problem's tests and the call to check(). */
export function humanevalProgram(
  problem: { prompt: string; test: string; entry_point: string },
  completion: string,
): string {
  return `${problem.prompt}${completion}\n${problem.test}\ncheck(${problem.entry_point})`;
}

/**
 * The same program as the sandbox runs it: prompt + completion jailed, the tests in the trusted harness,
 * which also runs the prompt itself for the helpers some tests call (`poly`, `encode_cyclic`).
 */
export function humanevalJob(
  problem: { prompt: string; test: string; entry_point: string },
  completion: string,
): SandboxJob {
  return {
    program: `${problem.prompt}${completion}\n`,
    entryPoint: problem.entry_point,
    context: problem.prompt,
    tests: problem.test,
  };
}

interface Sampling {
  samples: number;
  temperature: number;
  topP?: number;
  ks: number[];
}

function makeHumanevalTask(sampling: Sampling, description: string, harnessTask: string) {
  const metrics = sampling.ks.map((k) => `pass@${k}`);
  return {
    dimension: "code",
    description,
    harnessTask,
    versions: { current: "1.0" },
    metrics,
    needsSandbox: true,
    async load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
      fewshotCount("humaneval", options.numFewshot, 0, 0, "it is zero-shot");
      const maxTokens = options.maxGenTokens ?? HUMANEVAL_MAX_TOKENS;
      const problems = takeLimit(await data.jsonl("humaneval/HumanEval.jsonl", humanevalRow), options.limit);
      const instances = problems.map((p): EvalInstance => {
        const requests = Array.from({ length: sampling.samples }, (_, i): GenerationRequest => ({
          kind: "generate",
          prompt: p.prompt,
          stop: HUMANEVAL_STOP,
          maxTokens,
          temperature: sampling.temperature,
          ...(sampling.topP !== undefined && { topP: sampling.topP }),
          // A distinct seed per sample: reproducible where the server honours it, and one cache entry each.
          ...(sampling.samples > 1 && { seed: i }),
        }));
        return {
          id: p.task_id,
          target: p.canonical_solution,
          requests,
          async score(responses, context) {
            if (!context.sandbox) throw new Error("humaneval needs a sandbox");
            const runs = await Promise.all(
              generations(responses).map((completion) => context.sandbox!.run(humanevalJob(p, completion))),
            );
            const correct = runs.filter((r) => r.status === "passed").length;
            return {
              metrics: Object.fromEntries(sampling.ks.map((k) => [`pass@${k}`, passAtK(runs.length, correct, k)])),
              extracted: runs.map((r) => ({
                status: r.status,
                ...(r.status !== "passed" && { stderr: r.stderr.slice(-500) }),
              })),
            };
          },
        };
      });
      return {
        instances,
        numFewshot: 0,
        settings: {
          samples: sampling.samples,
          temperature: sampling.temperature,
          topP: sampling.topP,
          ks: sampling.ks,
          stop: HUMANEVAL_STOP,
          maxTokens,
        },
      };
    },
  } satisfies TaskDefinition;
}

/** The paper's setting: 20 samples at temperature 0.8, top-p 0.95; pass@1 and pass@10 by the unbiased estimator. */
export const humanevalTask = makeHumanevalTask(
  { samples: 20, temperature: 0.8, topP: 0.95, ks: [1, 10] },
  "HumanEval, 20 samples at T=0.8, top-p 0.95: unbiased pass@1 and pass@10, tests run in a sandbox",
  "humaneval with repeats 20, temperature 0.8, top_p 0.95 (the paper's setting)",
);

/** One greedy completion per problem: pass@1 is the fraction that pass. */
export const humanevalGreedyTask = makeHumanevalTask(
  { samples: 1, temperature: 0, ks: [1] },
  "HumanEval, one greedy completion per problem: pass@1, tests run in a sandbox",
  "humaneval_greedy",
);
