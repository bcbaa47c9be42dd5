import { kto, messages } from "./chat.js";
import { alpaca, sharegpt } from "./llama-factory.js";
import { plain, ultrafeedback } from "./prompt-response.js";
import { fail, type SourceFormatSpec } from "./shared.js";

/**
 * Every input format by name. Auto-detection asks them in this order, most telling keys first:
 * `conversations` and `instruction` only occur in LLaMA-Factory rows, `chosen` in preference rows,
 * and `messages` with `label` is KTO before it is plain chat.
 */
export const FORMATS = { sharegpt, alpaca, ultrafeedback, kto, messages, plain } satisfies Record<
  string,
  SourceFormatSpec
>;

export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

/** The format a row's keys point to; throws InvalidSourceRow when none fits. */
export function detectFormat(value: unknown): FormatName {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail(
      undefined,
      `expected a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  const keys = new Set(Object.keys(value));
  const found = FORMAT_NAMES.find((name) => FORMATS[name].matches(keys));
  if (found) return found;
  const known = FORMAT_NAMES.map((name) => `${name}: ${FORMATS[name].shape}`).join("; ");
  return fail(
    undefined,
    `cannot tell the input format from the keys ${JSON.stringify([...keys])}`,
    `rows must look like one of — ${known}`,
  );
}
