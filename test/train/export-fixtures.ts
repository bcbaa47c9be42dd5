/** Data as the data engine writes it, and `exported`: a recipe written from a train config, ready to read. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { toDpoConversationalRow, toDpoMultiRow, toDpoRow, toKtoRows } from "../../src/data/index.js";
import type { NegativeRecord } from "../../src/data/types.js";
import { loadTrainConfig } from "../../src/train/config.js";
import { writeRecipe, type RecipeOptions } from "../../src/train/recipes/index.js";

export const records: NegativeRecord[] = [
  {
    prompt: "What is 7 + 5?",
    history: [],
    chosen: "7 + 5 = 12.",
    rejected: "7 + 5 = 13.",
    sourceId: "a",
    errorType: "correctness",
    injector: "m",
    templateVersion: "inject-v1",
    seed: 0,
  },
  {
    prompt: "Why is the sky blue?",
    history: [],
    chosen: "Rayleigh scattering favours short wavelengths.",
    rejected: "The sea reflects onto it.",
    sourceId: "b",
    errorType: "hallucination",
    injector: "m",
    templateVersion: "inject-v1",
    seed: 0,
  },
  {
    prompt: "And in French?",
    history: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Say hello." },
      { role: "assistant", content: "Hello." },
    ],
    chosen: "Bonjour.",
    rejected: "Hola.",
    sourceId: "c",
    errorType: "correctness",
    injector: "m",
    templateVersion: "inject-v1",
    seed: 0,
  },
];

export function writeLines(file: string, rows: readonly unknown[]): string {
  writeFileSync(file, rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n");
  return file;
}

export interface ExportFiles {
  /** The folder the files are in. */
  dir: string;
  kto: string;
  dpo: string;
  dpoConversational: string;
  /** One row per prompt with all its negatives (`rejected: [r1, r2]`), as `seapo inject --strategy all` writes them. */
  dpoMulti: string;
  /** A `seapo train --config` file, not the defaults, so a value that is not carried over shows. */
  config: string;
}

let written: Promise<ExportFiles> | undefined;

/** The data files (written once per test file) in the engine's formats, and a train config file. */
export function exportFiles(): Promise<ExportFiles> {
  written ??= writeFiles();
  return written;
}

async function writeFiles(): Promise<ExportFiles> {
  const dir = await mkdtemp(join(tmpdir(), "seapo-export-"));
  const files: ExportFiles = {
    dir,
    kto: writeLines(
      join(dir, "kto.jsonl"),
      records.flatMap((r) => toKtoRows(r, { includeDesirable: true })),
    ),
    dpo: writeLines(join(dir, "dpo.jsonl"), records.map(toDpoRow)),
    dpoConversational: writeLines(join(dir, "dpo_conversational.jsonl"), records.map(toDpoConversationalRow)),
    dpoMulti: writeLines(join(dir, "dpo_multi.jsonl"), [
      toDpoMultiRow([records[0]!]),
      toDpoMultiRow([records[1]!, { ...records[1]!, rejected: "Clouds paint it.", errorType: "correctness" }]),
    ]),
    config: join(dir, "train.yaml"),
  };
  writeFileSync(
    files.config,
    [
      "model: Qwen/Qwen2.5-7B-Instruct",
      "loss: kto",
      "beta: 0.2",
      "lr: 2.0e-6",
      "warmupRatio: 0.1",
      "epochs: 2",
      "batchSize: 4",
      "gradAccum: 4",
      "maxLength: 1024",
      "seed: 7",
      "maxGradNorm: 0.5",
      "weightDecay: 0.01",
      "lora: {rank: 16, alpha: 32, dropout: 0.05, targets: [q_proj, v_proj]}",
      "lossParams: {kto: {desirable_weight: 1.33}}",
      "",
    ].join("\n"),
  );
  return files;
}

export const defaults: Omit<RecipeOptions, "target"> = {
  gpus: 8,
  zero: "3",
  trlFormat: "conversational",
  trlVersion: "1.9",
};

/** Builds a config from the overrides (and a config file), writes the recipe and opens what it wrote. */
export async function exported(
  overrides: Record<string, unknown>,
  options: Partial<RecipeOptions> & Pick<RecipeOptions, "target">,
  configFile?: string,
) {
  const out = await mkdtemp(join(tmpdir(), `seapo-export-${options.target}-`));
  const config = await loadTrainConfig(configFile, {
    model: "Qwen/Qwen2.5-7B-Instruct",
    data: (await exportFiles()).kto,
    ...overrides,
    out,
  });
  const summary = await writeRecipe(config, { ...defaults, ...options });
  const read = (path: string) => readFileSync(join(out, path), "utf8");
  return {
    out,
    config,
    summary,
    read,
    yaml: (path: string) => parseYaml(read(path), { version: "1.1" }) as Record<string, unknown>,
    json: (path: string) => JSON.parse(read(path)) as unknown,
  };
}

/** The code block of README.md's Launch section. */
export function readmeCommands(text: string): string[] {
  const launch = text.slice(text.indexOf("## Launch"), text.indexOf("## Notes"));
  return [...launch.matchAll(/```bash\n([^`]+)```/g)].map((m) => m[1]!.trim());
}

/** The system Python, which has PyYAML (the pyenv python3 on PATH may not). */
export const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

export const hasPyYaml = (() => {
  try {
    execFileSync(PYTHON, ["-c", "import yaml"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
