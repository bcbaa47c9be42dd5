/**
 * What a task asks the model and what comes back, as zod schemas: the types the tasks use, and the
 * shape --log-samples writes to the samples file.
 */
import { z } from "zod";

/** JSON has no -Infinity (an impossible continuation): it is written as null and read back as -Infinity. */
const logprob = z.union([z.number(), z.null().transform(() => -Infinity)]);

/** Score `continuation` after `context` (a multiple-choice option). */
export const loglikelihoodRequestSchema = z.strictObject({
  kind: z.literal("loglikelihood"),
  context: z.string(),
  continuation: z.string(),
});

/** Generate from a raw prompt (no chat template) and cut the text at the first stop sequence. */
export const generationRequestSchema = z.strictObject({
  kind: z.literal("generate"),
  prompt: z.string(),
  stop: z.array(z.string()),
  maxTokens: z.number(),
  temperature: z.number(),
  topP: z.number().optional(),
  /** Set per sample when several are drawn, so each has its own cache entry. */
  seed: z.number().optional(),
});

export const evalRequestSchema = z.discriminatedUnion("kind", [loglikelihoodRequestSchema, generationRequestSchema]);

export const loglikelihoodResponseSchema = z.strictObject({
  kind: z.literal("loglikelihood"),
  logprob,
  isGreedy: z.boolean(),
});

export const generationResponseSchema = z.strictObject({
  kind: z.literal("generate"),
  /** Already cut at the request's stop sequences. */
  text: z.string(),
});

export const evalResponseSchema = z.discriminatedUnion("kind", [loglikelihoodResponseSchema, generationResponseSchema]);

export type LoglikelihoodRequest = z.output<typeof loglikelihoodRequestSchema>;
export type GenerationRequest = z.output<typeof generationRequestSchema>;
export type EvalRequest = z.output<typeof evalRequestSchema>;
export type LoglikelihoodResponse = z.output<typeof loglikelihoodResponseSchema>;
export type GenerationResponse = z.output<typeof generationResponseSchema>;
export type EvalResponse = z.output<typeof evalResponseSchema>;
