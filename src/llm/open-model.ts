import type { BatchSession } from "./batch-model.js";
import { withRequestCache, type CachedModel } from "./cache.js";
import { createEndpointPool, type EndpointSpec, type EndpointStats } from "./endpoint-pool.js";
import { checkServedModels } from "./endpoints-file.js";
import type { LanguageModel } from "./provider.js";
import type { RetryEvent } from "./retry.js";

/** Which backend runs a model, with that backend's settings. */
export type ModelChoice =
  | {
      kind: "openai";
      /** One or more servers of the model; requests are spread over them (endpoint-pool.ts). */
      endpoints: EndpointSpec[];
      /** Where the endpoints were given (--base-url or the --endpoints file), for errors. */
      source: string;
      model: string;
      /** Requests in flight across all endpoints. */
      concurrency: number;
      timeoutMs: number;
      maxRetries: number;
    }
  /** Requests answered from batch result files, or written as batch request files (batch-model.ts). */
  | { kind: "batch"; model: string; session: BatchSession }
  | { kind: "gguf"; path: string; concurrency: number }
  /** `adapter`: a PEFT LoRA folder folded into the base weights at load. */
  | { kind: "hf"; dir: string; adapter?: string };

export interface OpenedModel {
  model: CachedModel;
  /** A short name for provenance: the server's model name, or the GGUF file or HF folder. */
  name: string;
  /** Per-endpoint counts, for an OpenAI-compatible model. */
  endpointStats?: () => EndpointStats[];
}

export interface OpenModelSettings {
  cacheDir?: string;
  onRetry?: (event: RetryEvent) => void;
  /** Warnings (an endpoint that could not be checked, one taken out or back); default stderr. */
  onWarning?: (message: string) => void;
  /** Log-likelihood prompts per request (see OpenAIModelOptions.batchSize). */
  batchSize?: number;
}

/**
 * Opens the chosen model behind the request cache (when `cacheDir` is given). The in-process
 * backends are imported only when chosen: node-llama-cpp and the engine are heavy to load.
 */
export async function openModel(choice: ModelChoice, settings: OpenModelSettings = {}): Promise<OpenedModel> {
  const { model, ...rest } = await openBackend(choice, settings);
  return { model: settings.cacheDir ? withRequestCache(model, { dir: settings.cacheDir }) : uncached(model), ...rest };
}

async function openBackend(
  choice: ModelChoice,
  settings: OpenModelSettings,
): Promise<{ model: LanguageModel; name: string; endpointStats?: () => EndpointStats[] }> {
  const warn = settings.onWarning ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
  switch (choice.kind) {
    case "gguf": {
      const { createLlamaCppModel } = await import("./llama-cpp.js");
      const model = await createLlamaCppModel({ ggufPath: choice.path, sequences: Math.min(choice.concurrency, 8) });
      return { model, name: `gguf:${choice.path}` };
    }
    case "hf": {
      const { createEngineModel } = await import("./engine.js");
      const model = await createEngineModel({ dir: choice.dir, adapter: choice.adapter });
      return { model, name: choice.adapter ? `hf:${choice.dir}+${choice.adapter}` : `hf:${choice.dir}` };
    }
    case "batch":
      return { model: choice.session.model(choice.model), name: choice.model };
    case "openai": {
      await checkServedModels(choice.endpoints, choice.source, warn);
      const model = createEndpointPool({
        endpoints: choice.endpoints,
        concurrency: choice.concurrency,
        batchSize: settings.batchSize,
        timeoutMs: choice.timeoutMs,
        retry: { retries: choice.maxRetries },
        onRetry: settings.onRetry,
        onEndpointEvent: warn,
      });
      return { model, name: choice.model, endpointStats: model.endpointStats };
    }
  }
}

function uncached(model: LanguageModel): CachedModel {
  return { ...model, cacheStats: { hits: 0, misses: 0 } };
}
