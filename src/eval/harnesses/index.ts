import { InputError } from "../../errors.js";
import type { Harness } from "../file-schemas.js";
import { HARNESS_COMMIT, TASKS, type TaskName } from "../tasks/index.js";
import type { TaskDefinition } from "../types.js";
import { OPEN_INSTRUCT_COMMIT, SEAPO_PAPER_TASKS } from "./seapo-paper/index.js";

export { SEAPO_PAPER_TASKS, OPEN_INSTRUCT_COMMIT };

/** The task table of each harness; seapo-paper has the paper's seven. */
const TABLES: Record<Harness, Partial<Record<TaskName, TaskDefinition>>> = {
  "lm-eval": TASKS,
  "seapo-paper": SEAPO_PAPER_TASKS,
};

/** The commit of the reference code whose prompts and scoring the harness reproduces. */
export const HARNESS_COMMITS: Record<Harness, string> = {
  "lm-eval": HARNESS_COMMIT,
  "seapo-paper": OPEN_INSTRUCT_COMMIT.slice(0, 9),
};

/** Every task of the harness with its definition, in the table's order. */
export function harnessTasks(harness: Harness): Array<[TaskName, TaskDefinition]> {
  return Object.entries(TABLES[harness]) as Array<[TaskName, TaskDefinition]>;
}

/** The task as the harness defines it; a clear error when the harness has no such task. */
export function harnessTask(harness: Harness, name: TaskName): TaskDefinition {
  const definition = TABLES[harness][name];
  if (!definition)
    throw new InputError(
      "--tasks",
      undefined,
      undefined,
      `the ${harness} harness has no task "${name}"`,
      `${harness} runs ${Object.keys(TABLES[harness]).join(", ")}`,
    );
  return definition;
}
