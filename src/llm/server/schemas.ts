import { z } from "zod";
import { ROLES } from "../provider.js";

/**
 * The request bodies `seapo serve` accepts, with OpenAI's defaults. Fields it cannot honour are
 * refused when set to anything but their neutral value; fields it does not know are ignored, as
 * OpenAI-compatible servers do.
 */

const tokenIds = z.array(z.number().int().min(0)).min(1);

/** Settings both endpoints share. */
const sampling = {
  model: z.string().optional(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** vLLM's extension; 0 or -1 is off. */
  top_k: z.number().int().min(-1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.literal(1, { error: "n must be 1: seapo serve returns one choice per prompt" }).nullish(),
  stream: z.literal(false, { error: "streaming is not supported; send stream: false" }).nullish(),
  presence_penalty: z.literal(0, { error: "presence_penalty is not supported" }).nullish(),
  frequency_penalty: z.literal(0, { error: "frequency_penalty is not supported" }).nullish(),
  logit_bias: z
    .record(z.string(), z.number())
    .refine((bias) => Object.keys(bias).length === 0, "logit_bias is not supported")
    .nullish(),
};

export const completionRequestSchema = z.object({
  ...sampling,
  /** Text, texts, token ids, or lists of token ids (lm-evaluation-harness sends ids). */
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
  max_tokens: z.number().int().min(0).nullish(),
  /** Log-probs of each token with this many alternatives (OpenAI allows up to 5, vLLM more). */
  logprobs: z.number().int().min(0).max(20).nullish(),
  echo: z.boolean().nullish(),
  best_of: z.literal(1, { error: "best_of must be 1" }).nullish(),
  suffix: z.null({ error: "suffix is not supported" }).optional(),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

const contentPart = z.object({ type: z.literal("text"), text: z.string() });

export const chatRequestSchema = z.object({
  ...sampling,
  messages: z
    .array(
      z.object({
        role: z.enum(ROLES),
        content: z.union([z.string(), z.array(contentPart)]),
      }),
    )
    .min(1),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: z
    .object({ type: z.string() })
    .refine(
      (format) => format.type === "text",
      "response_format json_object and json_schema are not supported: the engine does not constrain decoding; ask for JSON in the prompt and check the reply",
    )
    .nullish(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** OpenAI's defaults where a field is absent. */
export const DEFAULTS = { temperature: 1, topP: 1, completionMaxTokens: 16 } as const;
