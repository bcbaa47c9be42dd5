import { distance } from "fastest-levenshtein";
import type { FinishReason } from "../llm/index.js";

/** Checks every negative must pass before it is used. The authors' release had none. */
export interface VerifyOptions {
  /** A negative whose normalised edit distance to the positive is at or below this is near-identical. */
  minEditDistance: number;
  minLengthRatio: number;
  maxLengthRatio: number;
  /**
   * Tokens a rewrite may differ in length from the positive whatever the ratio, so one added
   * sentence on a one-line answer is no outlier. Optional so hand-written options stay valid.
   */
  lengthSlack?: number;
}

export const defaultVerifyOptions: VerifyOptions = {
  minEditDistance: 0,
  minLengthRatio: 0.5,
  maxLengthRatio: 2,
  lengthSlack: 48,
};

/** Token counts are estimated at 4 characters per token (OpenAI's rule of thumb for English). */
export const CHARACTERS_PER_TOKEN = 4;

export const rejectReasons = [
  "invalid-input",
  "provider-error",
  "empty",
  "identical",
  "near-identical",
  "truncated",
  "meta-text",
  "length-ratio",
  "judge-rejected",
] as const;
export type RejectReason = (typeof rejectReasons)[number];

export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

export function verifyNegative(
  positive: string,
  negative: string,
  finishReason: FinishReason,
  options: VerifyOptions = defaultVerifyOptions,
): Verdict {
  if (finishReason.unified === "length") {
    return { ok: false, reason: "truncated", detail: `the provider stopped at the token limit (${finishReason.raw})` };
  }
  if (negative.trim() === "") return { ok: false, reason: "empty", detail: "the rewrite is empty" };
  if (negative.trim() === positive.trim())
    return { ok: false, reason: "identical", detail: "the rewrite equals the positive" };
  const editDistance = normalisedEditDistance(positive, negative);
  if (editDistance <= options.minEditDistance) {
    return {
      ok: false,
      reason: "near-identical",
      detail: `normalised edit distance ${editDistance.toFixed(4)} ≤ ${options.minEditDistance} (only case, spacing or punctuation changed)`,
    };
  }
  const leak = findMetaText(negative);
  if (leak) return { ok: false, reason: "meta-text", detail: `leaks meta-text: "${leak}"` };
  return checkLength(positive, negative, options);
}

/** The ratio bound, waived when the lengths differ by no more than the slack. */
function checkLength(positive: string, negative: string, options: VerifyOptions): Verdict {
  const ratio = negative.length / Math.max(1, positive.length);
  if (ratio >= options.minLengthRatio && ratio <= options.maxLengthRatio) return { ok: true };
  const slack = options.lengthSlack ?? 0;
  const differenceInTokens = Math.abs(negative.length - positive.length) / CHARACTERS_PER_TOKEN;
  if (slack > 0 && differenceInTokens <= slack) return { ok: true };
  return {
    ok: false,
    reason: "length-ratio",
    detail:
      `length ratio ${ratio.toFixed(2)} outside [${options.minLengthRatio}, ${options.maxLengthRatio}]` +
      ` and ~${Math.round(differenceInTokens)} tokens of difference > the slack of ${slack}`,
  };
}

/**
 * Levenshtein distance over the texts with case, spacing and punctuation normalised away,
 * divided by the longer length: 0 means "the same words", 1 means "nothing in common".
 */
export function normalisedEditDistance(a: string, b: string): number {
  const na = normaliseForComparison(a);
  const nb = normaliseForComparison(b);
  const longest = Math.max(na.length, nb.length);
  return longest === 0 ? 0 : distance(na, nb) / longest;
}

function normaliseForComparison(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Preambles an injector puts before the rewrite; stripped, as the authors' release does. */
const preamble =
  /^\s*(?:sure[,!.]?\s*)?(?:here(?:'s| is)|below is)\s+(?:the|a|my|your)?\s*(?:revised|modified|rewritten|updated|altered|new|changed)\b[^\n]*?(?::|\.)\s*\n+/i;

/** Leaks that make a negative useless: the rewrite talks about the error it carries. */
const metaTextPatterns: RegExp[] = [
  /\b(?:introduced|inserted|added|injected|included)\b[^.\n]{0,40}\b(?:error|mistake|inaccuracy|flaw)s?\b/i,
  /\b(?:deliberate|intentional)(?:ly)?\b[^.\n]{0,30}\b(?:error|mistake|incorrect|wrong)\b/i,
  /\((?:note|error|mistake|incorrect)\b[^)]*\)/i,
  /\[(?:error|mistake|incorrect)\b[^\]]*\]/i,
  /^\s*(?:note|explanation)\s*:/im,
  /\b(?:revised|rewritten|modified) (?:response|answer|version)\s*:/i,
  /\boriginal (?:response|answer)\b/i,
];

export function stripPreamble(text: string): string {
  return text.replace(preamble, "").trim();
}

export function findMetaText(text: string): string | undefined {
  for (const pattern of metaTextPatterns) {
    const match = pattern.exec(text);
    if (match) return match[0].trim();
  }
  return undefined;
}
