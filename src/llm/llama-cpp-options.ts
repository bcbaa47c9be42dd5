import type { LlamaCompletionGenerationOptions } from "node-llama-cpp";

/** Options both LlamaChat.generateResponse and LlamaCompletion.generateCompletionWithMeta take. */
export type GenerationSettings = Pick<
  LlamaCompletionGenerationOptions,
  | "temperature"
  | "topK"
  | "topP"
  | "seed"
  | "customStopTriggers"
  | "repeatPenalty"
  | "grammar"
  | "signal"
  | "onToken"
  | "onTextChunk"
  | (typeof PASS_THROUGH)[number]
>;

/** node-llama-cpp generation options a request may set through providerOptions. */
const PASS_THROUGH = [
  "minP",
  "xtc",
  "repeatPenalty",
  "dryRepeatPenalty",
  "tokenBias",
  "trimWhitespaceSuffix",
  "evaluationPriority",
] as const;

export function passThrough(
  providerOptions: Record<string, unknown> | undefined,
  warnings: string[],
): Partial<GenerationSettings> {
  const passed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(providerOptions ?? {})) {
    if ((PASS_THROUGH as readonly string[]).includes(key)) passed[key] = value;
    else warnings.push(`providerOptions.${key} is not a node-llama-cpp generation option here; ignored`);
  }
  return passed as Partial<GenerationSettings>;
}
