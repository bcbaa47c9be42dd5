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
export const PROMPT_FORMAT_VERSION = "1";

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
