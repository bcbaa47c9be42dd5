import { InputError } from "../../errors.js";
import type { TaskDefinition } from "../types.js";
import { arcChallengeTask, arcEasyTask } from "./arc.js";
import { bbhCotFewshotTask } from "./bbh.js";
import { gsm8kCotTask, gsm8kTask } from "./gsm8k.js";
import { humanevalGreedyTask, humanevalTask } from "./humaneval.js";
import { minervaMath500Task } from "./math.js";
import { mmluTask } from "./mmlu.js";
import { truthfulqaMc1Task, truthfulqaMc2Task } from "./truthfulqa.js";

/**
 * Bumped whenever a prompt, stop sequence, extraction or metric changes, so results files made
 * with different prompts are never compared unknowingly.
 */
export const PROMPT_FORMAT_VERSION = "2";

/** Which harness's prompts and scoring a run reproduces; results.json records it. */
export const HARNESS = "lm-eval";
/** The lm-evaluation-harness commit whose task files the prompt-conformance test was generated from. */
export const HARNESS_COMMIT = "4e7e0d47f";

/** Every task by name (the names lm-evaluation-harness uses where one exists). */
export const TASKS = {
  truthfulqa_mc1: truthfulqaMc1Task,
  truthfulqa_mc2: truthfulqaMc2Task,
  mmlu: mmluTask,
  arc_easy: arcEasyTask,
  arc_challenge: arcChallengeTask,
  gsm8k_cot: gsm8kCotTask,
  gsm8k: gsm8kTask,
  minerva_math500: minervaMath500Task,
  bbh_cot_fewshot: bbhCotFewshotTask,
  humaneval: humanevalTask,
  humaneval_greedy: humanevalGreedyTask,
} satisfies Record<string, TaskDefinition>;

export type TaskName = keyof typeof TASKS;
export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

/** Names that stand for several tasks. */
export const TASK_GROUPS = {
  /** The benchmarks the SeaPO paper reports its results on. */
  paper: ["bbh_cot_fewshot", "humaneval", "gsm8k_cot", "minerva_math500", "mmlu", "truthfulqa_mc1", "truthfulqa_mc2"],
  truthfulqa: ["truthfulqa_mc1", "truthfulqa_mc2"],
  arc: ["arc_easy", "arc_challenge"],
} satisfies Record<string, TaskName[]>;

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

/** "mmlu, truthfulqa" → the task names, groups expanded, duplicates dropped, order kept. */
export function resolveTaskNames(spec: string | readonly string[]): TaskName[] {
  const parts = (typeof spec === "string" ? spec.split(",") : spec).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) {
    throw new InputError(
      "--tasks",
      undefined,
      undefined,
      "no task given",
      `known tasks: ${TASK_NAMES.join(", ")}; groups: ${Object.keys(TASK_GROUPS).join(", ")}`,
    );
  }
  const out: TaskName[] = [];
  for (const part of parts) {
    const names: readonly TaskName[] | undefined = isTaskName(part)
      ? [part]
      : (TASK_GROUPS as Record<string, TaskName[]>)[part];
    if (!names) {
      throw new InputError(
        "--tasks",
        undefined,
        undefined,
        `unknown task "${part}"`,
        `known tasks: ${TASK_NAMES.join(", ")}; groups: ${Object.entries(TASK_GROUPS)
          .map(([g, t]) => `${g} (${t.join(", ")})`)
          .join("; ")}`,
      );
    }
    for (const name of names) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** The versions a task can reproduce, the current one first. */
export function taskVersionChoices(name: TaskName): string[] {
  const { current, older = [] } = (TASKS[name] as TaskDefinition).versions;
  return [current, ...older];
}

/** Each task's harness version: the one asked for, else the harness's current one. */
export function resolveTaskVersions(
  tasks: readonly TaskName[],
  asked: Partial<Record<TaskName, string>>,
): Record<TaskName, string> {
  const out = {} as Record<TaskName, string>;
  for (const [name, version] of Object.entries(asked) as Array<[TaskName, string]>) {
    if (!isTaskName(name)) throw versionError(`unknown task "${name}"`, "name a task");
    if (!taskVersionChoices(name).includes(version))
      throw versionError(
        `${name} has no version ${version}`,
        `${name} can run version ${taskVersionChoices(name).join(" or ")}`,
      );
  }
  for (const name of tasks) out[name] = asked[name] ?? taskVersionChoices(name)[0]!;
  return out;
}

/** "truthfulqa_mc2=2.0,bbh_cot_fewshot=2.0" → { truthfulqa_mc2: "2.0", bbh_cot_fewshot: "2.0" }. */
export function parseTaskVersions(spec: string): Partial<Record<TaskName, string>> {
  const out: Partial<Record<TaskName, string>> = {};
  for (const part of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = "", version, extra] = part.split("=").map((s) => s.trim());
    if (!version || extra !== undefined)
      throw versionError(`"${part}" is not task=version`, "write e.g. truthfulqa_mc2=2.0");
    if (!isTaskName(name)) throw versionError(`unknown task "${name}"`, `known tasks: ${TASK_NAMES.join(", ")}`);
    out[name] = version;
  }
  resolveTaskVersions([], out);
  return out;
}

function versionError(message: string, hint: string): InputError {
  const versioned = TASK_NAMES.filter((n) => taskVersionChoices(n).length > 1)
    .map((n) => `${n} (${taskVersionChoices(n).join(", ")})`)
    .join("; ");
  return new InputError("--task-version", undefined, undefined, message, `${hint}; versions to choose: ${versioned}`);
}
