export { resolveDataDir } from "./data.js";
export {
  runEval,
  DEFAULT_FEWSHOT_SEED,
  type EvalRun,
  type RunOptions,
  type TaskResult,
  type MetricValue,
  type MetricTable,
  type SampleRecord,
} from "./run.js";
export {
  buildResultsFile,
  writeResults,
  readResults,
  formatComparison,
  withinNoise,
  samplesPath,
  type ResultsFile,
  type ModelIdentity,
} from "./results.js";
export {
  createSandbox,
  type Sandbox,
  type SandboxOptions,
  type SandboxResult,
  type SandboxIsolation,
} from "./sandbox.js";
export {
  TASKS,
  TASK_NAMES,
  TASK_GROUPS,
  PROMPT_FORMAT_VERSION,
  resolveTaskNames,
  type TaskName,
} from "./tasks/index.js";
export type { Dimension, TaskDefinition } from "./types.js";
