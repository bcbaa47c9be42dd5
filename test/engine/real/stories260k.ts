import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The real trained stories260K (../shared/models/stories260K, read-only) and its reference outputs,
 * computed outside this project (README there): a float64 NumPy forward and llama2.c's own encoder.
 */
export const STORIES_DIR = fileURLToPath(new URL("../../../../shared/models/stories260K", import.meta.url));
export const STORIES_HF = join(STORIES_DIR, "hf");

function reference<T>(name: string): T {
  return JSON.parse(readFileSync(join(STORIES_DIR, "reference", name), "utf8")) as T;
}

/** BOS (id 1) followed by the 200 greedy tokens, and their text. */
export const greedyReference = reference<{ ids: number[]; text: string }>("greedy.json");
/** llama2.c's encode of test strings, without BOS. */
export const encodeReference = reference<{ cases: { text: string; ids: number[] }[] }>("encode.json");
/** ids (BOS first) and logprobs[i] = log p(ids[i+1] | ids[..i]). */
export const logprobsReference = reference<{ ids: number[]; logprobs: number[]; sum: number }>("logprobs.json");

/** A writable copy of the HF folder, for anything that writes beside the model. */
export function copyStoriesHf(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "seapo-stories260k-")), "hf");
  cpSync(STORIES_HF, dir, { recursive: true });
  return dir;
}
