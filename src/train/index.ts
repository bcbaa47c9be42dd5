/** The trainer's public surface: other areas import from here, never from the files behind it. */
export { train, lrAt, type LrSchedule, type TrainOptions, type TrainSummary, type TrainedModel } from "./train.js";
export {
  loadTrainConfig,
  parseTrainConfig,
  parseLossSpec,
  trainConfigSchema,
  SCHEDULES,
  REFERENCE_MODES,
  GGUF_TYPES,
  type TrainConfig,
  type TrainConfigInput,
} from "./config.js";
export {
  readPreferenceRows,
  readTrainingRows,
  tokenizeRows,
  planEpoch,
  unpairRows,
  rowLength,
  type PreferenceRows,
  type TrainingRows,
  type MultiRow,
  type TokenizedRows,
  type RowReject,
} from "./data.js";
export {
  saveCheckpoint,
  loadLatestCheckpoint,
  listCheckpoints,
  CHECKPOINT_DIR,
  type Checkpoint,
  type TrainerState,
} from "./checkpoint.js";
export { completionLogps, type ScoredRow } from "./reference.js";
export {
  EVAL_PREFIX,
  METRICS_FILE,
  RUN_FILE,
  metricsLineSchema,
  trainRunFileSchema,
  type MetricsLine,
  type TrainRunFile,
  type TrainRunFileInput,
} from "./files.js";
export {
  LOSSES,
  LOSS_NAMES,
  combineLosses,
  ktoKlRows,
  lossRequirements,
  runLoss,
  type LossName,
  type LossRequirements,
  type LossTerm,
} from "./losses/index.js";
export {
  buildRecipe,
  writeRecipe,
  RECIPE_FILES,
  RECIPE_TARGETS,
  TRL_FORMATS,
  TRL_VERSIONS,
  DEFAULT_TRL_VERSION,
  ZERO_STAGES,
  type Recipe,
  type RecipeFile,
  type RecipeOptions,
  type RecipeSummary,
  type RecipeTarget,
  type TrlFormat,
  type TrlVersion,
  type ZeroStage,
} from "./recipes/index.js";
