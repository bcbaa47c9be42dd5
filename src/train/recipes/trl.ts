/**
 * The TRL recipe (github.com/huggingface/trl): explicit-prompt rows, trl.yaml with the keys of
 * trl/trainer/{dpo,kto}_config.py, trl/trainer/model_config.py (use_peft, lora_r, lora_alpha,
 * lora_dropout, lora_target_modules) and the scripts' ScriptArguments (dataset_name,
 * dataset_train_split, dataset_test_split), and accelerate.yaml, for `trl dpo|kto --config FILE
 * --accelerate_config FILE` (docs/source/clis.md).
 */
import type { TemplateMessage } from "../../engine/index.js";
import { InputError } from "../../errors.js";
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
  rowsForRecipe,
  type RowsFrom,
  type TrlFormat,
} from "./common.js";
import { accelerateConfig, deepSpeedFiles, readme } from "./launch.js";
import { trlLoss } from "./losses.js";
import { trainingKeys } from "./training-arguments.js";
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
  const { trainer, keys } = trlLoss(config);
  const unpaired = trainer === "kto";
  const trainRows = trlRows(
    rowsForRecipe(train, unpaired ? "unpaired" : "paired", config),
    train.file,
    options.trlFormat,
  );
  const evalData =
    evalRows === undefined
      ? undefined
      : trlRows(rowsForRecipe(evalRows, unpaired ? "unpaired" : "paired", config), evalRows.file, options.trlFormat);
  const lora = config.finetuning === "lora";
  const referenceFree = !lossRequirements(parseLossSpec(config.loss, config)).reference;
  const yaml: Keys = {
    model_name_or_path: config.model,
    // A folder holding train.jsonl (and test.jsonl): datasets.load_dataset names the splits after the files.
    dataset_name: RECIPE_FILES.dataDir,
    dataset_train_split: "train",
    ...(evalData === undefined ? {} : { dataset_test_split: "test" }),
    use_peft: lora,
    ...(lora
      ? {
          lora_r: config.lora.rank,
          lora_alpha: config.lora.alpha,
          lora_dropout: config.lora.dropout,
          lora_target_modules: [...config.lora.targets],
        }
      : {}),
    ...keys,
    max_length: config.maxLength,
    // seapo train cuts the end of a long completion and never shortens a prompt on its own. TRL's DPO
    // trainer does that with no prompt cap and keep_start; its KTO trainer reads a null cap as 128
    // tokens and truncates prompts first, so KTO keeps TRL's defaults (512, keep_end).
    ...(unpaired ? {} : { max_prompt_length: null, truncation_mode: "keep_start" }),
    ...(config.reference === "cached" && !referenceFree ? { precompute_ref_log_probs: true } : {}),
    ...trainingKeys(config, evalData !== undefined),
  };
  const files: RecipeFile[] = [
    { path: RECIPE_FILES.trlTrain, text: toJsonLines(trainRows) },
    ...(evalData === undefined ? [] : [{ path: RECIPE_FILES.trlTest, text: toJsonLines(evalData) }]),
    {
      path: RECIPE_FILES.trlConfig,
      text: yamlText(
        `TRL ${trainer.toUpperCase()} recipe for \`trl ${trainer}\`, written by seapo export (the hyperparameters of \`seapo train\`)`,
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
  const command = `trl ${trainer} --config ${RECIPE_FILES.trlConfig} --accelerate_config ${RECIPE_FILES.accelerateConfig}`;
  files.push({
    path: RECIPE_FILES.readme,
    text: readme(
      config,
      options,
      files,
      command,
      trainRows.length,
      `accelerate launch --config_file ${RECIPE_FILES.accelerateConfig} -m trl.scripts.${trainer} --config ${RECIPE_FILES.trlConfig}`,
    ),
  });
  return { files, command, rows: trainRows.length };
}
