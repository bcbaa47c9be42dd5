/**
 * The model flags every command shares, as one zod schema per prefix: `modelOptionsSchema()` gives
 * --base-url, --model, … and `modelOptionsSchema("judge")` the same set as --judge-base-url, ….
 * Commands nest the schema under a key of their own options schema; help, defaults and ranges
 * come from here.
 */
import type { Command } from "commander";
import { z } from "zod";
import { InputError } from "../errors.js";
import {
  openModel,
  readEndpointsFile,
  type BatchSession,
  type ModelChoice,
  type OpenedModel,
  type RetryEvent,
} from "../llm/index.js";
import { addSchemaOptions, parseFlagValues } from "./schema-options.js";

export function modelOptionsSchema(prefix = "") {
  const flag = (name: string, placeholder: string) => `${flagName(prefix, name)} <${placeholder}>`;
  const who = prefix ? `the ${prefix} model` : "the model";
  const text = (description: string, name: string, placeholder: string) => ({
    description,
    flag: flag(name, placeholder),
  });
  return z.object({
    baseUrl: z
      .array(z.string())
      .optional()
      .meta({
        ...text(
          `OpenAI-compatible server for ${who} (vLLM, SGLang, llama.cpp's llama-server for generation only, Ollama, OpenAI), e.g. http://127.0.0.1:8000/v1; repeat it for several servers of the same model (requests go to the least busy)`,
          "base-url",
          "url",
        ),
        repeatable: true,
      }),
    endpoints: z
      .string()
      .optional()
      .meta(
        text(
          `YAML/JSON list of servers for ${who}, instead of ${flagName(prefix, "base-url")}: url, and optionally model, weight (default 1), max-concurrency (default --concurrency), api-key-env`,
          "endpoints",
          "file",
        ),
      ),
    model: z
      .string()
      .optional()
      .meta(text(`model name sent to the server for ${who}`, "model", "name")),
    gguf: z
      .string()
      .optional()
      .meta(text(`run ${who} in-process from a GGUF file (node-llama-cpp, CPU)`, "gguf", "path")),
    hf: z
      .string()
      .optional()
      .meta(text(`run ${who} in-process on seapo's engine from a Llama/Qwen2 Hugging Face folder`, "hf", "dir")),
    apiKeyEnv: z
      .string()
      .default("OPENAI_API_KEY")
      .meta(text(`environment variable holding the API key for ${who} (never logged)`, "api-key-env", "var")),
    concurrency: z
      .number()
      .int()
      .positive()
      .default(16)
      .meta(text(`requests in flight at once for ${who}, across all its servers`, "concurrency", "n")),
    timeout: z
      .number()
      .int()
      .positive()
      .default(120_000)
      .meta(text(`per-request timeout for ${who}`, "timeout", "ms")),
    maxRetries: z
      .number()
      .int()
      .min(0)
      .default(6)
      .meta(text("retries on 429, 5xx, timeouts and dropped connections", "max-retries", "n")),
  });
}

export type ModelOptions = z.output<ReturnType<typeof modelOptionsSchema>>;

/**
 * The backend the flags choose, or undefined when none of the prefix's flags names one (an
 * optional judge). Naming two, or --model without a server, is refused with the flags. With a
 * batch session (--batch-out/--batch-in) --model alone chooses the model of the batch files.
 */
export function modelChoice(options: ModelOptions, prefix = "", batch?: BatchSession): ModelChoice | undefined {
  const flag = (name: string) => flagName(prefix, name);
  const given = [
    options.baseUrl?.length && "base-url",
    options.endpoints && "endpoints",
    options.gguf && "gguf",
    options.hf && "hf",
  ].filter((name): name is string => Boolean(name));
  if (batch) return batchChoice(options, flag, given, batch);
  if (given.length === 0) {
    if (options.model) throw commandLineError(flag("model"), `${flag("model")} needs ${flag("base-url")}`);
    return undefined;
  }
  if (given.length > 1) {
    const names = given.map(flag).join(" and ");
    throw commandLineError(
      flag(given[1]!),
      `give one of ${flag("base-url")}, ${flag("endpoints")}, ${flag("gguf")} or ${flag("hf")}, not ${names}`,
    );
  }
  if (options.gguf) return { kind: "gguf", path: options.gguf, concurrency: options.concurrency };
  if (options.hf) return { kind: "hf", dir: options.hf };
  const server = { concurrency: options.concurrency, timeoutMs: options.timeout, maxRetries: options.maxRetries };
  if (options.endpoints) {
    const defaults = { model: options.model, maxConcurrency: options.concurrency, apiKeyEnv: options.apiKeyEnv };
    const endpoints = readEndpointsFile(options.endpoints, defaults);
    return { kind: "openai", endpoints, source: options.endpoints, model: endpoints[0]!.model, ...server };
  }
  if (!options.model) throw commandLineError(flag("model"), `${flag("base-url")} needs ${flag("model")}`);
  const apiKey = process.env[options.apiKeyEnv];
  const endpoints = options.baseUrl!.map((url) => ({
    url: url.replace(/\/+$/, ""),
    model: options.model!,
    weight: 1,
    maxConcurrency: options.concurrency,
    apiKey,
  }));
  return { kind: "openai", endpoints, source: flag("base-url"), model: options.model, ...server };
}

function batchChoice(
  options: ModelOptions,
  flag: (name: string) => string,
  given: string[],
  session: BatchSession,
): ModelChoice | undefined {
  if (given.length > 0) {
    throw commandLineError(flag(given[0]!), `--batch-out and --batch-in take the place of ${flag(given[0]!)}`);
  }
  return options.model ? { kind: "batch", model: options.model, session } : undefined;
}

export interface OpenSettings {
  cacheDir?: string;
  onRetry?: (event: RetryEvent) => void;
  /** The run's batch files: the model flags then name the model of the batch requests. */
  batch?: BatchSession;
  /** Log-likelihood prompts per request to an OpenAI-compatible server (eval's --batch-size). */
  batchSize?: number;
}

/** Opens the model the flags describe (behind the request cache), or undefined when they name none. */
export async function openModelFromOptions(
  options: ModelOptions,
  settings: OpenSettings & { prefix?: string },
): Promise<OpenedModel | undefined> {
  const choice = modelChoice(options, settings.prefix, settings.batch);
  return choice && openModel(choice, settings);
}

/** The model a command cannot run without: refused, with the flags to give, when none is named. */
export function requireModel(opened: OpenedModel | undefined, role: string): OpenedModel {
  if (opened) return opened;
  throw new InputError(
    "command line",
    undefined,
    undefined,
    `no ${role} model`,
    "give --base-url and --model, --gguf, or --hf",
  );
}

// ---- the names the eval and demo commands use (they pass commander's option values)

/** Adds the model flags (with a prefix: --judge-base-url, …) to a command. */
export function addModelOptions(command: Command, prefix = ""): Command {
  return addSchemaOptions(command, modelOptionsSchema(prefix));
}

/** Opens the model that commander's parsed values (from addModelOptions) describe; see openModelFromOptions. */
export async function modelFromOptions(
  values: Record<string, unknown>,
  settings: OpenSettings & { prefix?: string },
): Promise<OpenedModel | undefined> {
  const schema = modelOptionsSchema(settings.prefix);
  const input = Object.fromEntries(Object.keys(schema.shape).map((key) => [key, values[camel(settings.prefix, key)]]));
  return openModelFromOptions(parseFlagValues(schema, input), settings);
}

function flagName(prefix: string, name: string): string {
  return prefix ? `--${prefix}-${name}` : `--${name}`;
}

/** Commander's attribute name of a prefixed field: judge + baseUrl → judgeBaseUrl. */
function camel(prefix: string | undefined, key: string): string {
  return prefix ? `${prefix}${key[0]!.toUpperCase()}${key.slice(1)}` : key;
}

function commandLineError(flag: string, problem: string): InputError {
  return new InputError(flag, undefined, undefined, problem);
}
