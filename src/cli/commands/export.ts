import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { Option, type Command } from "commander";
import { loadTrainConfig, type TrainConfig } from "../../train/config.js";
import { readPreferenceRows } from "../../train/data.js";
import {
  buildRecipe,
  EXPORT_TARGETS,
  TRL_FORMATS,
  ZERO_STAGES,
  type ExportOptions,
  type ExportTarget,
  type TrlFormat,
  type ZeroStage,
} from "../../train/export-recipes.js";
import { addTrainOptions, trainOverrides } from "./train.js";
import { writeFileAtomic } from "../../io/index.js";

interface ExportFlags {
  config?: string;
  to: ExportTarget;
  template?: string;
  gpus: number;
  zero: ZeroStage;
  trlFormat: TrlFormat;
}

export interface ExportSummary {
  files: string[];
  command: string;
  rows: number;
  rejects: number;
}

/**
 * Reads the rows with the trainer's checks (so --skip-invalid rejects the same rows `seapo train`
 * would), builds the recipe and writes it under config.out, each file atomically.
 */
export async function runExport(config: TrainConfig, options: ExportOptions): Promise<ExportSummary> {
  const { data, rejects } = await readPreferenceRows(config.data, { skipInvalid: config.skipInvalid });
  const evalRows =
    config.evalData === undefined
      ? undefined
      : {
          file: config.evalData,
          data: (await readPreferenceRows(config.evalData, { skipInvalid: config.skipInvalid })).data,
        };
  const recipe = buildRecipe(config, { file: config.data, data }, evalRows, options);
  const files = recipe.files.map((f) => f.path);
  if (rejects.length > 0)
    recipe.files.push({ path: "rejects.jsonl", text: rejects.map((r) => JSON.stringify(r)).join("\n") + "\n" });
  for (const file of recipe.files) {
    const path = join(config.out, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, file.text);
  }
  return { files, command: recipe.command, rows: recipe.rows, rejects: rejects.length };
}

// Training options that describe a local run only (resume, local outputs, our own batching) are left out.
const LOCAL_ONLY = [
  "--model",
  "--out",
  "--resume",
  "--gguf",
  "--no-adapter",
  "--no-merged",
  "--reference-cache",
  "--no-bucketing",
];

export function registerExportCommand(program: Command): void {
  const command = program
    .command("export")
    .summary("write a LLaMA-Factory or TRL recipe (data, config, launch command) for multi-GPU training")
    .description(
      "Hands a `seapo train` run to a distributed engine. Reads kto.jsonl or dpo.jsonl with the trainer's checks and writes to --out: " +
        "the rows in the engine's format, a training config with the hyperparameters `seapo train` would use (same --config YAML and flags), " +
        "a DeepSpeed ZeRO config (--zero), an accelerate config (TRL), and README.md with the launch command.\n\n" +
        "llamafactory: data/seapo_{kto,dpo}.jsonl + data/dataset_info.json, train.yaml; run `llamafactory-cli train train.yaml` in --out.\n" +
        "trl: data/train.jsonl, trl.yaml, accelerate.yaml; run `trl dpo|kto --config trl.yaml --accelerate_config accelerate.yaml` in --out.",
    )
    .addOption(new Option("--to <engine>", "the engine to hand over to").choices(EXPORT_TARGETS).makeOptionMandatory())
    .requiredOption("--out <dir>", "folder for the recipe (created)")
    .option(
      "--model <name>",
      "model name or path on the training machines, written into the config as is (required here or in --config)",
    );
  addTrainOptions(command, LOCAL_ONLY)
    .option("--template <name>", "LLaMA-Factory chat template (default: guessed from the model name)")
    .addOption(new Option("--gpus <n>", "GPUs per machine").argParser(Number).default(8))
    .addOption(new Option("--zero <stage>", "DeepSpeed ZeRO stage, or none").choices(ZERO_STAGES).default("3"))
    .addOption(
      new Option(
        "--trl-format <format>",
        "TRL rows as message lists (chat template applied, as seapo train does) or plain text",
      )
        .choices(TRL_FORMATS)
        .default("conversational"),
    )
    .action(async (flags: ExportFlags, cmd: Command) => {
      const config = await loadTrainConfig(flags.config, trainOverrides(cmd));
      const summary = await runExport(config, {
        target: flags.to,
        template: flags.template,
        gpus: flags.gpus,
        zero: flags.zero,
        trlFormat: flags.trlFormat,
      });
      const rejected = summary.rejects === 0 ? "" : ` (${summary.rejects} rejected, see rejects.jsonl)`;
      console.log(`exported ${summary.rows} rows${rejected}; wrote ${config.out}/{${summary.files.join(",")}}`);
      console.log(`launch (in ${config.out}): ${summary.command}`);
    });
}
