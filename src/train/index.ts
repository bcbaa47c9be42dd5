export { train, lrAt, type LrSchedule, type TrainOptions, type TrainSummary } from "./train.js";
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
  tokenizeRows,
  planEpoch,
  unpairRows,
  rowLength,
  type PreferenceRows,
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
  METRICS_FILE,
  RUN_FILE,
  metricsLineSchema,
  trainRunFileSchema,
  type MetricsLine,
  type TrainRunFile,
  type TrainRunFileInput,
} from "./files.js";
