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
  readSamples,
  formatComparison,
  withinNoise,
  samplesPath,
  type TabulatedResults,
} from "./results.js";
export {
  evalResultsSchema,
  evalSampleSchema,
  modelIdentitySchema,
  HARNESSES,
  type Harness,
  type ResultsFile,
  type SampleLine,
  type ModelIdentity,
} from "./file-schemas.js";
export { truthfulqaMc1, truthfulqaMc2 } from "./metrics.js";
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
  HARNESS,
  HARNESS_COMMIT,
  resolveTaskNames,
  parseTaskVersions,
  taskVersionChoices,
  type TaskName,
} from "./tasks/index.js";
export { DIMENSIONS, type Dimension, type TaskDefinition } from "./types.js";
export { HARNESS_COMMITS, harnessTasks, SEAPO_PAPER_TASKS, OPEN_INSTRUCT_COMMIT } from "./harnesses/index.js";
