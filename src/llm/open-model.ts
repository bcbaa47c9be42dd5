import { withRequestCache, type CachedModel } from "./cache.js";
import { createOpenAIModel } from "./openai.js";
import type { LanguageModel } from "./provider.js";
import type { RetryEvent } from "./retry.js";

/** Which backend runs a model, with that backend's settings. */
export type ModelChoice =
  | {
      kind: "openai";
      baseURL: string;
      model: string;
      /** Read from the environment by the caller; never logged. */
      apiKey: string | undefined;
      concurrency: number;
      timeoutMs: number;
      maxRetries: number;
    }
  | { kind: "gguf"; path: string; concurrency: number }
  | { kind: "hf"; dir: string };

export interface OpenedModel {
  model: CachedModel;
  /** A short name for provenance: the server's model name, or the GGUF file or HF folder. */
  name: string;
}

/**
 * Opens the chosen model behind the request cache (when `cacheDir` is given). The in-process
 * backends are imported only when chosen: node-llama-cpp and the engine are heavy to load.
 */
export async function openModel(
  choice: ModelChoice,
  settings: { cacheDir?: string; onRetry?: (event: RetryEvent) => void } = {},
): Promise<OpenedModel> {
  const { model, name } = await openBackend(choice, settings.onRetry);
  return { model: settings.cacheDir ? withRequestCache(model, { dir: settings.cacheDir }) : uncached(model), name };
}

async function openBackend(
  choice: ModelChoice,
  onRetry: ((event: RetryEvent) => void) | undefined,
): Promise<{ model: LanguageModel; name: string }> {
  switch (choice.kind) {
    case "gguf": {
      const { createLlamaCppModel } = await import("./llama-cpp.js");
      const model = await createLlamaCppModel({ ggufPath: choice.path, sequences: Math.min(choice.concurrency, 8) });
      return { model, name: `gguf:${choice.path}` };
    }
    case "hf": {
      const { createEngineModel } = await import("./engine.js");
      return { model: await createEngineModel({ dir: choice.dir }), name: `hf:${choice.dir}` };
    }
    case "openai": {
      const model = createOpenAIModel({
        baseURL: choice.baseURL,
        model: choice.model,
        apiKey: choice.apiKey,
        concurrency: choice.concurrency,
        timeoutMs: choice.timeoutMs,
        retry: { retries: choice.maxRetries },
        onRetry,
      });
      return { model, name: choice.model };
    }
  }
}

function uncached(model: LanguageModel): CachedModel {
  return { ...model, cacheStats: { hits: 0, misses: 0 } };
}
