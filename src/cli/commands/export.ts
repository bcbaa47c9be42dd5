import { Option, type Command } from "commander";
import {
  DEFAULT_TRL_VERSION,
  loadTrainConfig,
  RECIPE_TARGETS,
  TRL_FORMATS,
  TRL_VERSIONS,
  writeRecipe,
  ZERO_STAGES,
  type RecipeTarget,
  type TrlFormat,
  type TrlVersion,
  type ZeroStage,
} from "../../train/index.js";
import { addTrainOptions, trainOverrides } from "./train.js";
import { integerArg } from "../schema-options.js";

interface ExportFlags {
  config?: string;
  to: RecipeTarget;
  template?: string;
  gpus: number;
  zero: ZeroStage;
  trlFormat: TrlFormat;
  trlVersion: TrlVersion;
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
        "trl: data/train.jsonl, trl.yaml, accelerate.yaml for --trl-version; run `trl dpo|kto --config trl.yaml --accelerate_config accelerate.yaml` in --out " +
        "(TRL 0.28: `accelerate launch --config_file accelerate.yaml -m trl.scripts.dpo|kto --config trl.yaml`, as its `trl` command drops the accelerate file). " +
        "KTO rows are written in a seeded order in which no per-device batch holds two rows of a prompt (the engines' KL rows pair neighbours).",
    )
    .addOption(new Option("--to <engine>", "the engine to hand over to").choices(RECIPE_TARGETS).makeOptionMandatory())
    .requiredOption("--out <dir>", "folder for the recipe (created)")
    .option(
      "--model <name>",
      "model name or path on the training machines, written into the config as is (required here or in --config)",
    );
  addTrainOptions(command, LOCAL_ONLY)
    .option("--template <name>", "LLaMA-Factory chat template (default: guessed from the model name)")
    .addOption(new Option("--gpus <n>", "GPUs per machine").argParser(integerArg("--gpus", 1)).default(8))
    .addOption(new Option("--zero <stage>", "DeepSpeed ZeRO stage, or none").choices(ZERO_STAGES).default("3"))
    .addOption(
      new Option(
        "--trl-format <format>",
        "TRL rows as message lists (chat template applied, as seapo train does) or plain text",
      )
        .choices(TRL_FORMATS)
        .default("conversational"),
    )
    .addOption(
      new Option(
        "--trl-version <line>",
        "TRL release the recipe is written for: its config fields, losses and launch command",
      )
        .choices(TRL_VERSIONS)
        .default(DEFAULT_TRL_VERSION),
    )
    .action(async (flags: ExportFlags, cmd: Command) => {
      const config = await loadTrainConfig(flags.config, trainOverrides(cmd));
      const summary = await writeRecipe(config, {
        target: flags.to,
        template: flags.template,
        gpus: flags.gpus,
        zero: flags.zero,
        trlFormat: flags.trlFormat,
        trlVersion: flags.trlVersion,
      });
      const rejected = summary.rejects === 0 ? "" : ` (${summary.rejects} rejected, see rejects.jsonl)`;
      console.log(`exported ${summary.rows} rows${rejected}; wrote ${config.out}/{${summary.files.join(",")}}`);
      console.log(`launch (in ${config.out}): ${summary.command}`);
      for (const note of summary.notes) console.error(`note: ${note}`);
    });
}
