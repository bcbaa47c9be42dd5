/**
 * The provider layer: one LanguageModel interface and its backends. The in-process backends
 * (node-llama-cpp, the engine) load heavy modules, so openModel imports them only when chosen.
 */
export { chatMessageSchema, mapFinishReason, ROLES, usageSchema } from "./provider.js";
export type * from "./provider.js";
export { withRequestCache, type CachedModel } from "./cache.js";
export { createOpenAIModel, type OpenAIModelOptions } from "./openai.js";
export { pooledFetch } from "./http.js";
export { withRetry, type RetryEvent, type RetryPolicy } from "./retry.js";
export { openModel, type ModelChoice, type OpenedModel } from "./open-model.js";
export type { LlamaCppModelOptions } from "./llama-cpp.js";
export type { LanguageModel } from "./provider.js";
