/**
 * The provider layer: one LanguageModel interface and its backends. The in-process backends
 * (node-llama-cpp, the engine) load heavy modules, so openModel imports them only when chosen.
 */
export { chatMessageSchema, mapFinishReason, ROLES, usageSchema } from "./provider.js";
export type * from "./provider.js";
export { withRequestCache, type CachedModel } from "./cache.js";
export { createOpenAIModel, type OpenAIModelOptions } from "./openai.js";
export { createJsonClient, type JsonClient } from "./http.js";
export { withRetry, type RetryEvent, type RetryPolicy } from "./retry.js";
export { openModel, type ModelChoice, type OpenedModel, type OpenModelSettings } from "./open-model.js";
export {
  createEndpointPool,
  servedModel,
  type EndpointSpec,
  type EndpointStats,
  type PooledModel,
} from "./endpoint-pool.js";
export { readEndpointsFile, checkServedModels } from "./endpoints-file.js";
export { BATCH_LIMITS, BatchWriter, readBatchResults } from "./batch-file.js";
export { DeferredRequest, isDeferred, openBatchSession, type BatchCounts, type BatchSession } from "./batch-model.js";
export {
  generatePrompts,
  readPromptRows,
  generationRecordSchema,
  promptRowSchema,
  type GeneratePromptsOptions,
  type GenerationRecord,
  type PromptRow,
} from "./generate-prompts.js";
export { serveModel, startServer, type RunningServer, type ServeModelOptions } from "./server/index.js";
export type { LlamaCppModelOptions } from "./llama-cpp.js";
export type { LanguageModel } from "./provider.js";
