import { z } from "zod";
import { ProviderError } from "../errors.js";
import type { GenerateResult } from "./provider.js";

/**
 * Turns a model's JSON reply into a value the schema accepts. Models often wrap JSON in a code
 * fence, so that is accepted; anything else unusable is a ProviderError that is not retried
 * (greedy decoding would answer the same again).
 */
export function parseJsonReply<T>(result: GenerateResult, schema: z.ZodType<T>, source: string): T {
  const unfenced = result.text
    .trim()
    .replace(/^```(?:json)?\s*/i, "")
    .replace(/\s*```$/, "");
  let parsed: unknown;
  try {
    parsed = JSON.parse(unfenced);
  } catch {
    const cut = result.finishReason.unified === "length" ? " (generation stopped at the token limit)" : "";
    throw new ProviderError(`${source}: the reply is not complete JSON${cut}: ${result.text.slice(0, 200)}`, {
      isRetryable: false,
    });
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) {
    throw new ProviderError(`${source}: the JSON reply does not match the schema: ${z.prettifyError(checked.error)}`, {
      isRetryable: false,
    });
  }
  return checked.data;
}
