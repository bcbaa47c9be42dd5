/**
 * The negatives area: typed error injection (inject), error-type analysis (analyze) and the
 * datasets exported from the journals. Every file it writes has one schema here, used by its
 * writer and by every reader (the report).
 */
export {
  BUILTIN_ERROR_TYPES,
  builtinErrorTypes,
  loadErrorTypes,
  findErrorType,
  type BuiltinErrorType,
  type ErrorType,
} from "./error-types.js";
export { runInject, describeStrategy, type InjectOptions, type InjectResult } from "./inject.js";
export { exportDatasets, exportFiles, type RunCounters } from "./datasets.js";
export {
  formatAnalysis,
  llmClassifier,
  readAnswerRows,
  runAnalyze,
  type AnalyzeOptions,
  type AnswerRow,
  type Classifier,
  type Judgment,
} from "./analyze.js";
export { parseStrategy, seededUniform, strategyNames, typesForRow, type Strategy } from "./strategy.js";
export {
  defaultVerifyOptions,
  rejectReasons,
  verifyNegative,
  type RejectReason,
  type VerifyOptions,
} from "./verify.js";
export { runInOrder } from "./in-order.js";

// ---- the files, each with its schema
export { MANIFEST_FILE, runManifestSchema, type RunManifest } from "./run-manifest.js";
export {
  STATS_FILE,
  addRunDetails,
  endpointStatsSchema,
  injectStatsSchema,
  type EndpointStatsRecord,
  type InjectStats,
  type LengthSummary,
  type RunDetails,
} from "./stats.js";
export {
  journalFiles,
  negativeRecordSchema,
  rejectRecordSchema,
  type NegativeLine,
  type RejectLine,
} from "./journals.js";
export {
  ANALYSIS_FILE,
  JUDGMENTS_FILE,
  analysisDistributionSchema,
  analysisFileSchema,
  judgmentRecordSchema,
  type Analysis,
  type JudgmentRecord,
} from "./analysis-file.js";
