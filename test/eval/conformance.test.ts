import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DataReader, resolveDataDir } from "../../src/eval/data.js";
import { HARNESS_COMMIT, TASKS, type TaskName } from "../../src/eval/tasks/index.js";
import type { EvalInstance, TaskDefinition } from "../../src/eval/types.js";

/**
 * Every prompt seapo builds, hashed and compared with the prompts lm-evaluation-harness builds from its
 * own task files, re-implemented in test/eval/generators/lm_eval_prompts.py (run it to regenerate).
 */
interface TaskFixture {
  harnessVersion: string;
  n: number;
  first: Record<string, string[]>;
  all: string;
  generation?: { until: string[]; max_gen_toks: number };
}
const fixture = JSON.parse(readFileSync(new URL("fixtures/lm-eval-prompts.json", import.meta.url), "utf8")) as {
  commit: string;
  firstN: number;
  fewshotSeed: number;
  tasks: Record<string, TaskFixture>;
  olderVersions: Record<string, TaskFixture & { commit: string }>;
};

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** The harness's request text: the prompt, or for multiple choice the context and each continuation. */
function requestHash(instance: EvalInstance): string {
  const [first] = instance.requests;
  if (first?.kind === "generate") return sha256(first.prompt);
  const lls = instance.requests.flatMap((r) => (r.kind === "loglikelihood" ? [r] : []));
  return sha256([lls[0]!.context, ...lls.map((r) => r.continuation)].join("\0"));
}

async function seapoPrompts(name: TaskName, taskVersion: string) {
  const definition: TaskDefinition = TASKS[name];
  const loaded = await definition.load(new DataReader(resolveDataDir()), {
    fewshotSeed: fixture.fewshotSeed,
    taskVersion,
  });
  const first: Record<string, string[]> = {};
  const every = loaded.instances.map((instance) => {
    const hash = requestHash(instance);
    const list = (first[instance.subtask ?? ""] ??= []);
    if (list.length < fixture.firstN) list.push(hash);
    return hash;
  });
  return { first, all: sha256(every.join("\n")), n: every.length, settings: loaded.settings };
}

async function expectConforms(name: TaskName, expected: TaskFixture) {
  const got = await seapoPrompts(name, expected.harnessVersion);
  expect(got.n).toBe(expected.n);
  // The first documents of each subtask one by one (to locate a difference), then all of them at once.
  for (const [subtask, hashes] of Object.entries(expected.first))
    expect([subtask, got.first[subtask]]).toEqual([subtask, hashes]);
  expect(got.all).toBe(expected.all);
  if (expected.generation) {
    expect(got.settings.stop).toEqual(expected.generation.until);
    expect(got.settings.maxTokens).toBe(expected.generation.max_gen_toks);
  }
}

// The task seapo runs → the harness task whose prompts it reproduces.
const HARNESS_TASK: Record<TaskName, string> = {
  truthfulqa_mc1: "truthfulqa_mc1",
  truthfulqa_mc2: "truthfulqa_mc2",
  mmlu: "mmlu",
  arc_easy: "arc_easy",
  arc_challenge: "arc_challenge",
  gsm8k_cot: "gsm8k_cot",
  gsm8k: "gsm8k",
  minerva_math500: "minerva_math500",
  bbh_cot_fewshot: "bbh_cot_fewshot",
  humaneval: "humaneval",
  humaneval_greedy: "humaneval",
};

describe(`prompts equal lm-evaluation-harness ${fixture.commit.slice(0, 9)}'s, byte for byte`, () => {
  it("the fixture comes from the harness commit results.json names", () => {
    expect(fixture.commit.startsWith(HARNESS_COMMIT)).toBe(true);
  });

  for (const [name, harnessTask] of Object.entries(HARNESS_TASK) as Array<[TaskName, string]>) {
    const expected = fixture.tasks[harnessTask]!;
    it(`${name} = ${harnessTask} v${expected.harnessVersion} (${expected.n} prompts)`, async () => {
      expect((TASKS[name] as TaskDefinition).versions.current).toBe(expected.harnessVersion);
      await expectConforms(name, expected);
    });
  }

  it("bbh v2.0 and v4.0 differ in sports_understanding only (per the harness's own files)", () => {
    const [current, older] = [fixture.tasks.bbh_cot_fewshot!.first, fixture.olderVersions.bbh_cot_fewshot!.first];
    expect(Object.keys(current).filter((t) => current[t]!.join() !== older[t]!.join())).toEqual([
      "sports_understanding",
    ]);
  });

  for (const [name, expected] of Object.entries(fixture.olderVersions) as Array<
    [TaskName, TaskFixture & { commit: string }]
  >) {
    it(`${name} --task-version ${name}=${expected.harnessVersion} = the harness at ${expected.commit.slice(0, 9)}`, async () => {
      expect((TASKS[name] as TaskDefinition).versions.older).toContain(expected.harnessVersion);
      await expectConforms(name, expected);
    });
  }
});
