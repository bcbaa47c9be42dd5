import type { TaskDefinition } from "../../types.js";
import { paperBbhTask } from "./bbh.js";
import { paperGsm8kTask } from "./gsm8k.js";
import { paperHumanevalTask } from "./humaneval.js";
import { paperMathTask } from "./math.js";
import { paperMmluTask } from "./mmlu.js";
import { paperTruthfulqaMc1Task, paperTruthfulqaMc2Task } from "./truthfulqa.js";

export { OPEN_INSTRUCT_COMMIT, PAPER_TASK_VERSION } from "./common.js";

/**
 * The SeaPO release's evaluation (its modified open-instruct), under the names of the default
 * harness's `paper` group so `--tasks paper` means the same benchmarks under either harness.
 */
export const SEAPO_PAPER_TASKS = {
  bbh_cot_fewshot: paperBbhTask,
  humaneval: paperHumanevalTask,
  gsm8k_cot: paperGsm8kTask,
  minerva_math500: paperMathTask,
  mmlu: paperMmluTask,
  truthfulqa_mc1: paperTruthfulqaMc1Task,
  truthfulqa_mc2: paperTruthfulqaMc2Task,
} satisfies Record<string, TaskDefinition>;
