/** The open-instruct commit whose eval/ scripts this harness rebuilds (the last commit that has that folder). */
export const OPEN_INSTRUCT_COMMIT = "8b9069993ccfd6e67ce8e41f942c6b9eea8bc5e2";

/** Every task's recorded version: open-instruct at that commit, with the SeaPO release's changes. */
export const PAPER_TASK_VERSION = "oi-8b90699+seapo";

/** Python's string.punctuation. */
const PUNCTUATION = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

/**
 * Hugging Face evaluate's exact_match with ignore_case and ignore_punctuation, as open-instruct
 * calls it for GSM8K and BBH: both sides lower-cased and stripped of ASCII punctuation, then equal
 * as strings (whitespace is kept).
 */
export function oiExactMatch(prediction: string, reference: string): number {
  const clean = (s: string) => [...s.toLowerCase()].filter((c) => !PUNCTUATION.has(c)).join("");
  return clean(prediction) === clean(reference) ? 1 : 0;
}

/** The harness-task line recorded for each task: which open-instruct script, and what SeaPO changed. */
export function oiSource(script: string, change: string): string {
  return `open-instruct ${script} at ${OPEN_INSTRUCT_COMMIT.slice(0, 9)}, SeaPO copy: ${change}`;
}
