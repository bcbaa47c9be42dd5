import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initHfModel } from "../../src/engine/io/index.js";

/** A tiny random llama folder (hidden 64, 2 layers) in a fresh temporary directory. */
export async function tinyHfModel(seed = 1): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "seapo-tiny-model-"));
  await initHfModel(dir, { architecture: "llama", preset: "tiny", seed });
  return dir;
}

export interface TinyPreference {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** Small arithmetic preference pairs: the chosen answer is right, the rejected one carries a wrong sum. */
export function tinyPreferences(count: number): TinyPreference[] {
  return Array.from({ length: count }, (_, i) => {
    const a = (i * 7) % 10;
    const b = (i * 3 + 1) % 10;
    return {
      prompt: `What is ${a} + ${b}?`,
      chosen: `${a} + ${b} = ${a + b}.`,
      rejected: `${a} + ${b} = ${a + b + 3}, since ${a} is odd.`,
    };
  });
}

/** Writes kto.jsonl (positive then negative per pair) and dpo.jsonl as `seapo inject` does; returns their paths. */
export async function writeTinyPreferenceFiles(dir: string, count: number): Promise<{ kto: string; dpo: string }> {
  const pairs = tinyPreferences(count);
  const kto = join(dir, "kto.jsonl");
  const dpo = join(dir, "dpo.jsonl");
  const ktoRows = pairs.flatMap((p) => [
    { prompt: p.prompt, completion: p.chosen, label: true },
    { prompt: p.prompt, completion: p.rejected, label: false },
  ]);
  await writeFile(kto, ktoRows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await writeFile(dpo, pairs.map((p) => JSON.stringify(p)).join("\n") + "\n");
  return { kto, dpo };
}

/**
 * Writes dpo_multi.jsonl as `seapo inject --strategy all` does (one row per prompt, the rejected
 * answers in a list): row i has 1 + (i mod 3) negatives, so K differs between rows. Returns its path.
 */
export async function writeTinyMultiFile(dir: string, count: number): Promise<string> {
  const file = join(dir, "dpo_multi.jsonl");
  const rows = tinyPreferences(count).map((p, i) => {
    const wrong = [p.rejected, p.chosen.replace(".", " exactly."), `${p.prompt.slice(8, -1)} is unknown.`];
    return { prompt: p.prompt, chosen: p.chosen, rejected: wrong.slice(0, 1 + (i % 3)) };
  });
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}
