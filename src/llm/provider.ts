import { z } from "zod";

/**
 * The one interface every model backend implements: an OpenAI-compatible server, an in-process
 * GGUF model (node-llama-cpp) and the project's own engine (engine.ts). It returns data; settings a
 * backend cannot honour become warnings, not throws.
 */

export const ROLES = ["system", "user", "assistant"] as const;
export type Role = (typeof ROLES)[number];

/** One chat turn; the schema checks turns read back from the files seapo writes. */
export const chatMessageSchema = z.object({ role: z.enum(ROLES), content: z.string() });
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export interface SamplingOptions {
  /** Default 1024 (the paper's injection limit). */
  maxTokens?: number;
  /** Default 0: greedy. */
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: string[];
}

/** Either `messages` (the backend applies its chat template) or a raw `prompt` (no template). */
export interface GenerateRequest extends SamplingOptions {
  messages?: ChatMessage[];
  prompt?: string;
  signal?: AbortSignal;
  /**
   * Also return the generated tokens' log-probs, each with this many alternatives (0: none).
   * Only the OpenAI-compatible backend honours it; no eval task needs it yet.
   */
  topLogprobs?: number;
  /** Each new piece of the reply as it is decoded (the engine and node-llama-cpp stream; others call it once at the end or not at all). */
  onText?: (delta: string) => void;
  /** Escape hatch for backend-specific settings, passed through untouched. */
  providerOptions?: Record<string, unknown>;
}

export type FinishReason = {
  unified: "stop" | "length" | "content-filter" | "error" | "other";
  raw: string | undefined;
};

export const usageSchema = z.object({ inputTokens: z.number().int().min(0), outputTokens: z.number().int().min(0) });
export type Usage = z.infer<typeof usageSchema>;

/** One generated token's log-prob (natural log) and the best alternatives at its position, best first. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  top: Array<{ token: string; logprob: number }>;
}

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  warnings: string[];
  /** Present when the request set `topLogprobs` and the backend gives them. */
  logprobs?: TokenLogprob[];
}

export interface GenerateJsonRequest<T> extends GenerateRequest {
  schema: z.ZodType<T>;
  schemaName?: string;
}

export interface GenerateJsonResult<T> extends GenerateResult {
  value: T;
}

/** Score `continuation` given `context`: the sum of its token log-probs (natural log). */
export interface LogprobRequest {
  context: string;
  continuation: string;
  signal?: AbortSignal;
}

export interface LogprobResult {
  logprob: number;
  /** True when every continuation token was the argmax (lm-evaluation-harness's `is_greedy`). */
  isGreedy: boolean;
  tokenCount: number;
}

export interface LanguageModel {
  readonly provider: string;
  readonly modelId: string;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  generateJson<T>(request: GenerateJsonRequest<T>): Promise<GenerateJsonResult<T>>;
  /** Throws UnsupportedError when the backend cannot give log-probs. */
  logprobs(requests: LogprobRequest[]): Promise<LogprobResult[]>;
  close?(): Promise<void>;
}

export function mapFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case "stop":
    case "eos":
    case "stop_sequence":
    case "eogToken":
    case "stopGenerationTrigger":
    case "customStopTrigger":
      return { unified: "stop", raw };
    case "length":
    case "maxTokens":
      return { unified: "length", raw };
    case "content_filter":
      return { unified: "content-filter", raw };
    default:
      return { unified: raw ? "other" : "stop", raw: raw ?? undefined };
  }
}
