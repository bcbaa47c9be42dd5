/**
 * The TRL recipe (github.com/huggingface/trl) for one release line (--trl-version, targets.ts):
 * explicit-prompt rows, trl.yaml with fields of the dataclasses `trl/scripts/{dpo,kto}.py` parse
 * (DPOConfig or KTOConfig over transformers' TrainingArguments, ModelConfig, ScriptArguments), and
 * accelerate.yaml. The launch follows that version's CLI: from v0.29 `trl dpo|kto --config FILE
 * --accelerate_config FILE` (trl/cli/commands/training.py); up to v0.28 trl/cli.py drops the
 * accelerate file, so the recipe runs the script module under `accelerate launch` itself.
 */
import type { TemplateMessage } from "../../engine/index.js";
import { InputError, SeapoError } from "../../errors.js";
import { toJsonLines } from "../../io/index.js";
import { parseLossSpec, type TrainConfig } from "../config.js";
import type { PreferenceRows } from "../data.js";
import { lossRequirements } from "../losses/index.js";
import {
  type Keys,
  type Recipe,
  RECIPE_FILES,
  type RecipeFile,
  type RecipeOptions,
  orderNotes,
  referenceSource,
  rowsForRecipe,
  type RowsFrom,
  type TrlFormat,
} from "./common.js";
import { accelerateConfig, deepSpeedFiles, readme } from "./launch.js";
import { trlLoss } from "./losses.js";
import { TRL_TARGETS } from "./targets.js";
import { trainingKeys, trainingNotes } from "./training-arguments.js";
import { yamlText } from "./yaml.js";

/** TRL's explicit-prompt rows: conversational (message lists) or standard (text; only for one-user-turn prompts). */
function trlRows(rows: PreferenceRows, file: string, format: TrlFormat): Record<string, unknown>[] {
  const prompt = (messages: TemplateMessage[], line: number): string | TemplateMessage[] => {
    if (format === "conversational") return messages.map(({ role, content }) => ({ role, content }));
    if (messages.length !== 1 || messages[0]!.role !== "user") {
      throw new InputError(
        file,
        line,
        "prompt",
        "a standard (plain-text) TRL row holds one user turn, but this prompt has a history or a system message",
        "use --trl-format conversational",
      );
    }
    return messages[0]!.content;
  };
  const answer = (text: string): string | TemplateMessage[] =>
    format === "conversational" ? [{ role: "assistant", content: text }] : text;
  if (rows.kind === "unpaired")
    return rows.rows.map((r) => ({
      prompt: prompt(r.messages, r.line),
      completion: answer(r.completion),
      label: r.label,
    }));
  return rows.rows.map((r) => ({
    prompt: prompt(r.messages, r.line),
    chosen: answer(r.chosen),
    rejected: answer(r.rejected),
  }));
}

export function trlRecipe(
  config: TrainConfig,
  train: RowsFrom,
  evalRows: RowsFrom | undefined,
  options: RecipeOptions,
): Recipe {
  const target = TRL_TARGETS[options.trlVersion];
  const { trainer, keys } = trlLoss(config, options.trlVersion);
  const unpaired = trainer === "kto";
  const kind = unpaired ? "unpaired" : "paired";
  const ordered = rowsForRecipe(train, kind, config);
  const trainRows = trlRows(ordered, train.file, options.trlFormat);
  const evalData =
    evalRows === undefined
      ? undefined
      : trlRows(rowsForRecipe(evalRows, kind, config), evalRows.file, options.trlFormat);
  const yaml: Keys = {
    ...trlModelKeys(config, evalData !== undefined),
    ...keys,
    ...trlTrainerKeys(config, unpaired, target.dpoMaxPromptLength),
    ...trainingKeys(config, evalData !== undefined),
  };
  const files: RecipeFile[] = [
    { path: RECIPE_FILES.trlTrain, text: toJsonLines(trainRows) },
    ...(evalData === undefined ? [] : [{ path: RECIPE_FILES.trlTest, text: toJsonLines(evalData) }]),
    {
      path: RECIPE_FILES.trlConfig,
      text: yamlText(
        `TRL ${trainer.toUpperCase()} recipe for \`trl ${trainer}\` of TRL ${target.tag}, written by seapo export (the hyperparameters of \`seapo train\`)`,
        yaml,
      ),
    },
    {
      path: RECIPE_FILES.accelerateConfig,
      text: yamlText(
        `accelerate launch config: ${options.gpus} process(es) on one machine`,
        accelerateConfig(options.gpus, options.zero),
      ),
    },
  ];
  files.push(...deepSpeedFiles(options.zero));
  const viaAccelerate = `accelerate launch --config_file ${RECIPE_FILES.accelerateConfig} -m trl.scripts.${trainer} --config ${RECIPE_FILES.trlConfig}`;
  const command = target.cliPassesAccelerateConfig
    ? `trl ${trainer} --config ${RECIPE_FILES.trlConfig} --accelerate_config ${RECIPE_FILES.accelerateConfig}`
    : viaAccelerate;
  const notes = [
    ...trainingNotes(config),
    ...(target.cliPassesAccelerateConfig
      ? []
      : [
          `TRL ${target.tag}'s \`trl ${trainer}\` ignores \`--accelerate_config\` (trl/cli.py launches the script without the launch arguments), so the recipe starts the script under \`accelerate launch\` itself.`,
        ]),
    ...orderNotes(ordered, config),
  ];
  files.push({
    path: RECIPE_FILES.readme,
    text: readme(config, options, {
      files,
      command,
      rows: trainRows.length,
      target: `TRL ${target.tag} (commit ${target.commit}), with transformers 5.x`,
      notes,
      ...(target.cliPassesAccelerateConfig ? { alternative: viaAccelerate } : {}),
    }),
  });
  return { files, command, rows: trainRows.length, notes };
}

/** ModelConfig and ScriptArguments: the model, the data folder and LoRA. */
function trlModelKeys(config: TrainConfig, evaluate: boolean): Keys {
  const lora = config.finetuning === "lora";
  return {
    model_name_or_path: config.model,
    // A folder holding train.jsonl (and test.jsonl): datasets.load_dataset names the splits after the files.
    dataset_name: RECIPE_FILES.dataDir,
    dataset_train_split: "train",
    ...(evaluate ? { dataset_test_split: "test" } : {}),
    use_peft: lora,
    ...(lora
      ? {
          lora_r: config.lora.rank,
          lora_alpha: config.lora.alpha,
          lora_dropout: config.lora.dropout,
          lora_target_modules: [...config.lora.targets],
        }
      : {}),
  };
}

/** DPOConfig/KTOConfig keys beside the loss: length, dropout, LD-DPO, the reference. */
function trlTrainerKeys(config: TrainConfig, unpaired: boolean, maxPromptLength: boolean): Keys {
  const referenceFree = !lossRequirements(parseLossSpec(config.loss, config)).reference;
  if (config.ldAlpha !== undefined && unpaired)
    throw new SeapoError(`--ld-alpha: TRL's KTOTrainer has no ld_alpha (it is a DPOConfig field)`);
  refuseReference(config);
  return {
    max_length: config.maxLength,
    // seapo train cuts the end of a long completion and never shortens a prompt on its own: TRL's DPO
    // trainer does that with keep_start (and, up to v0.28, no prompt cap). Its KTO trainer keeps its defaults.
    ...(unpaired ? {} : { ...(maxPromptLength ? { max_prompt_length: null } : {}), truncation_mode: "keep_start" }),
    // Written out: TRL switches dropout off by default, LoRA dropout included.
    disable_dropout: config.disableDropout,
    ...(config.ldAlpha === undefined ? {} : { ld_alpha: config.ldAlpha }),
    ...(config.reference === "cached" && !referenceFree ? { precompute_ref_log_probs: true } : {}),
  };
}

/**
 * `trl dpo|kto` builds the reference itself: the policy's own base (LoRA: adapters disabled) or a copy
 * of model_name_or_path; no config field names another model or a PEFT adapter for it (v1.x
 * DPOConfig has none; v0.28's ref_adapter_name needs an adapter the script never loads).
 */
function refuseReference(config: TrainConfig): void {
  const { model, adapter } = referenceSource(config);
  if (model === undefined && adapter === undefined) return;
  const flag = model === undefined ? "--ref-adapter" : "--ref-model";
  throw new SeapoError(
    `${flag}: \`trl dpo|kto\` takes its reference from the model being trained and has no setting for another model or adapter; ` +
      `export to llamafactory (ref_model, ref_model_adapters), or merge the SFT adapter into the model and pass that as --model`,
  );
}
