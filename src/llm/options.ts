import { Option, type Command } from "commander";
import { InputError } from "../errors.js";
import { withRequestCache, type CachedModel } from "./cache.js";
import { createOpenAIModel } from "./openai.js";
import type { LanguageModel } from "./provider.js";
import type { RetryEvent } from "./retry.js";

/**
 * The provider flags every command shares. With a `prefix` ("judge") the same set is added as
 * --judge-base-url, --judge-model, … for a second model.
 */
export function addModelOptions(command: Command, prefix = ""): Command {
  const flag = (name: string) => (prefix ? `--${prefix}-${name}` : `--${name}`);
  const who = prefix ? `the ${prefix} model` : "the model";
  return command
    .addOption(
      new Option(
        `${flag("base-url")} <url>`,
        `OpenAI-compatible server for ${who} (vLLM, SGLang, llama.cpp server, Ollama, OpenAI), e.g. http://127.0.0.1:8000/v1`,
      ),
    )
    .addOption(new Option(`${flag("model")} <name>`, `model name sent to the server for ${who}`))
    .addOption(new Option(`${flag("gguf")} <path>`, `run ${who} in-process from a GGUF file (node-llama-cpp, CPU)`))
    .addOption(
      new Option(
        `${flag("hf")} <dir>`,
        `run ${who} in-process on seapo's engine from a Llama/Qwen2 Hugging Face folder`,
      ),
    )
    .addOption(
      new Option(
        `${flag("api-key-env")} <var>`,
        `environment variable holding the API key for ${who} (never logged)`,
      ).default("OPENAI_API_KEY"),
    )
    .addOption(
      new Option(`${flag("concurrency")} <n>`, `requests in flight at once for ${who}`)
        .default(16)
        .argParser(positiveInt),
    )
    .addOption(
      new Option(`${flag("timeout")} <ms>`, `per-request timeout for ${who}`).default(120_000).argParser(positiveInt),
    )
    .addOption(
      new Option(`${flag("max-retries")} <n>`, `retries on 429, 5xx, timeouts and dropped connections`)
        .default(6)
        .argParser(nonNegativeInt),
    );
}

export interface ModelFromOptions {
  model: CachedModel;
  /** A short name for provenance: the server's model name or the GGUF file. */
  name: string;
}

/**
 * Builds the model the flags describe, behind the request cache. Returns undefined when none of
 * the prefix's flags was given (an optional judge).
 */
export async function modelFromOptions(
  options: Record<string, unknown>,
  settings: { prefix?: string; cacheDir?: string; onRetry?: (event: RetryEvent) => void },
): Promise<ModelFromOptions | undefined> {
  const key = (name: string) => camel(settings.prefix ? `${settings.prefix}-${name}` : name);
  const flag = (name: string) => (settings.prefix ? `--${settings.prefix}-${name}` : `--${name}`);
  const baseURL = options[key("baseUrl")] as string | undefined;
  const modelName = options[key("model")] as string | undefined;
  const gguf = options[key("gguf")] as string | undefined;
  const hf = options[key("hf")] as string | undefined;
  const given = [baseURL && "base-url", gguf && "gguf", hf && "hf"].filter(Boolean) as string[];
  if (given.length === 0) {
    if (modelName)
      throw new InputError(flag("model"), undefined, undefined, `${flag("model")} needs ${flag("base-url")}`);
    return undefined;
  }
  if (given.length > 1) {
    throw new InputError(
      flag(given[1]!),
      undefined,
      undefined,
      `give one of ${flag("base-url")}, ${flag("gguf")} or ${flag("hf")}, not ${given.map(flag).join(" and ")}`,
    );
  }
  const concurrency = options[key("concurrency")] as number;
  let model: LanguageModel;
  let name: string;
  if (gguf) {
    const { createLlamaCppModel } = await import("./llama-cpp.js");
    model = await createLlamaCppModel({ ggufPath: gguf, sequences: Math.min(concurrency, 8) });
    name = `gguf:${gguf}`;
  } else if (hf) {
    const { createEngineModel } = await import("./engine.js");
    model = await createEngineModel({ dir: hf });
    name = `hf:${hf}`;
  } else {
    if (!modelName)
      throw new InputError(flag("model"), undefined, undefined, `${flag("base-url")} needs ${flag("model")}`);
    const apiKeyEnv = options[key("apiKeyEnv")] as string;
    model = createOpenAIModel({
      baseURL: baseURL!,
      model: modelName,
      apiKey: process.env[apiKeyEnv],
      concurrency,
      timeoutMs: options[key("timeout")] as number,
      retry: { retries: options[key("maxRetries")] as number },
      onRetry: settings.onRetry,
    });
    name = modelName;
  }
  return { model: settings.cacheDir ? withRequestCache(model, { dir: settings.cacheDir }) : uncached(model), name };
}

function uncached(model: LanguageModel): CachedModel {
  return { ...model, cacheStats: { hits: 0, misses: 0 } };
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError("command line", undefined, undefined, `expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InputError("command line", undefined, undefined, `expected a non-negative integer, got "${value}"`);
  return n;
}
