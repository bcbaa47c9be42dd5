/**
 * The LLaMA-Factory recipe (github.com/hiyouga/LLaMA-Factory at LLAMAFACTORY_TARGET, targets.ts): rows in its sharegpt format with their
 * dataset_info.json entries (data/README.md), train.yaml with the keys of hparams/finetuning_args.py
 * and hparams/data_args.py (dataset, eval_dataset, dataset_dir, template, cutoff_len; compare
 * examples/train_lora/qwen3_lora_{dpo,kto}.yaml), launched with the FORCE_TORCHRUN / NPROC_PER_NODE
 * variables of src/llamafactory/cli.py.
 */
import { LORA_TARGETS, type TemplateMessage } from "../../engine/index.js";
import { InputError, SeapoError } from "../../errors.js";
import { toJsonLines } from "../../io/index.js";
import {
  llamaFactoryDatasetInfo,
  type LlamaFactoryDpoRow,
  type LlamaFactoryKtoRow,
  type ShareGptTurn,
} from "../../data/index.js";
import type { TrainConfig } from "../config.js";
import type { PreferenceRows } from "../data.js";
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
} from "./common.js";
import { deepSpeedFile, deepSpeedFiles, readme } from "./launch.js";
import { llamaFactoryLoss } from "./losses.js";
import { LLAMAFACTORY_TARGET } from "./targets.js";
import { trainingKeys, trainingNotes } from "./training-arguments.js";
import { yamlText } from "./yaml.js";

const SHAREGPT_FROM: Record<string, ShareGptTurn["from"]> = { system: "system", user: "human", assistant: "gpt" };

/** LLaMA-Factory's sharegpt rule: an optional system message, then user/assistant turns alternating, ending with the user. */
function checkShareGpt(messages: readonly TemplateMessage[], file: string, line: number): void {
  const turns = messages[0]?.role === "system" ? messages.slice(1) : messages;
  turns.forEach((m, i) => {
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (m.role !== expected)
      throw new InputError(
        file,
        line,
        `prompt[${messages.length - turns.length + i}]`,
        `LLaMA-Factory's sharegpt format needs a ${expected} turn here, got "${m.role}"`,
        "a prompt is an optional system message, then user/assistant turns ending with a user turn",
      );
  });
  if (turns.length % 2 === 0)
    throw new InputError(
      file,
      line,
      "prompt",
      "LLaMA-Factory's sharegpt format needs the prompt to end with a user turn",
    );
}

function llamaFactoryRows(
  rows: PreferenceRows,
  file: string,
): Array<Omit<LlamaFactoryKtoRow, "seapo"> | Omit<LlamaFactoryDpoRow, "seapo">> {
  if (rows.kind === "unpaired") {
    return rows.rows.map((r) => {
      checkShareGpt(r.messages, file, r.line);
      return {
        messages: [
          ...r.messages.map(({ role, content }) => ({ role, content }) as LlamaFactoryKtoRow["messages"][number]),
          { role: "assistant", content: r.completion },
        ],
        label: r.label,
      };
    });
  }
  return rows.rows.map((r) => {
    checkShareGpt(r.messages, file, r.line);
    return {
      conversations: r.messages.map((m) => ({ from: SHAREGPT_FROM[m.role]!, value: m.content })),
      chosen: { from: "gpt", value: r.chosen },
      rejected: { from: "gpt", value: r.rejected },
    };
  });
}

const TEMPLATE_GUESSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/qwen2/i, "qwen"],
  [/llama-?3/i, "llama3"],
  [/llama-?2/i, "llama2"],
  [/mistral/i, "mistral"],
  [/gemma-?3/i, "gemma3"],
  [/gemma/i, "gemma"],
];

/** LLaMA-Factory's template name for a model: the one given, or a guess from well-known model names. */
export function llamaFactoryTemplate(model: string, given: string | undefined): string {
  if (given !== undefined) return given;
  const guess = TEMPLATE_GUESSES.find(([pattern]) => pattern.test(model))?.[1];
  if (guess === undefined)
    throw new SeapoError(
      `--template: cannot tell LLaMA-Factory's chat template for "${model}"; pass --template NAME (e.g. qwen, qwen3_nothink, llama3)`,
    );
  return guess;
}

function allTargets(config: TrainConfig): boolean {
  return LORA_TARGETS.every((t) => config.lora.targets.includes(t));
}

export function llamaFactoryRecipe(
  config: TrainConfig,
  train: RowsFrom,
  evalRows: RowsFrom | undefined,
  options: RecipeOptions,
): Recipe {
  refuseInexact(config);
  const { stage, ...lossKeys } = llamaFactoryLoss(config);
  const kto = stage === "kto";
  const template = llamaFactoryTemplate(config.model, options.template);
  const ordered = rowsForRecipe(train, kto ? "unpaired" : "paired", config);
  const trainRows = llamaFactoryRows(ordered, train.file);
  const evalData =
    evalRows === undefined
      ? undefined
      : llamaFactoryRows(rowsForRecipe(evalRows, kto ? "unpaired" : "paired", config), evalRows.file);

  // dataset_info.json as the data engine writes it (src/data/training-rows.ts), one entry per file.
  const kind = kto ? "kto" : "dpo";
  const entry = (name: string, file: string) =>
    llamaFactoryDatasetInfo({ dpoFile: file, ktoFile: file, name })[`${name}_${kind}`]!;
  const dataset = `seapo_${kind}`;
  const evalDataset = `seapo_eval_${kind}`;
  const info = {
    [dataset]: entry("seapo", `${dataset}.jsonl`),
    ...(evalData === undefined ? {} : { [evalDataset]: entry("seapo_eval", `${evalDataset}.jsonl`) }),
  };

  const lora = config.finetuning === "lora";
  const yaml: Keys = {
    model_name_or_path: config.model,
    stage: stage!,
    do_train: true,
    finetuning_type: config.finetuning,
    ...(lora
      ? {
          lora_rank: config.lora.rank,
          lora_alpha: config.lora.alpha,
          lora_dropout: config.lora.dropout,
          lora_target: allTargets(config) ? "all" : config.lora.targets.join(","),
        }
      : {}),
    ...lossKeys,
    ...referenceKeys(config),
    dataset,
    ...(evalData === undefined ? {} : { eval_dataset: evalDataset }),
    dataset_dir: RECIPE_FILES.dataDir,
    template,
    cutoff_len: config.maxLength,
    ...(options.zero === "none" ? {} : { deepspeed: deepSpeedFile(options.zero) }),
    ...trainingKeys(config, evalData !== undefined),
  };
  const files: RecipeFile[] = [
    { path: `${RECIPE_FILES.dataDir}/${dataset}.jsonl`, text: toJsonLines(trainRows) },
    ...(evalData === undefined
      ? []
      : [{ path: `${RECIPE_FILES.dataDir}/${evalDataset}.jsonl`, text: toJsonLines(evalData) }]),
    { path: RECIPE_FILES.datasetInfo, text: `${JSON.stringify(info, null, 2)}\n` },
    {
      path: RECIPE_FILES.llamaFactoryConfig,
      text: yamlText(
        `LLaMA-Factory ${String(stage)} recipe written by seapo export (the hyperparameters of \`seapo train\`)`,
        yaml,
      ),
    },
  ];
  files.push(...deepSpeedFiles(options.zero));
  const torchrun =
    options.zero !== "none" || options.gpus > 1 ? `FORCE_TORCHRUN=1 NPROC_PER_NODE=${options.gpus} ` : "";
  const command = `${torchrun}llamafactory-cli train ${RECIPE_FILES.llamaFactoryConfig}`;
  const notes = [
    ...trainingNotes(config),
    ...("pref_ftx" in lossKeys ? [PREF_FTX_NOTE] : []),
    ...orderNotes(ordered, config),
  ];
  const target = `LLaMA-Factory ${LLAMAFACTORY_TARGET.describe} (commit ${LLAMAFACTORY_TARGET.commit}), with transformers 5.x`;
  files.push({
    path: RECIPE_FILES.readme,
    text: readme(config, options, { files, command, rows: trainRows.length, target, notes }),
  });
  return { files, command, rows: trainRows.length, notes };
}

/**
 * LLaMA-Factory's SFT term (pref_ftx, train/dpo/trainer.py) adds w × the mean over the pairs of each
 * chosen answer's per-token NLL; seapo's `sft` term is the NLL per token over all chosen tokens of
 * the batch. They agree when the chosen answers of a batch have one length.
 */
const PREF_FTX_NOTE =
  "`sft:w` is written as `pref_ftx: w`, which LLaMA-Factory weights per sequence (the mean over pairs of each chosen answer's per-token NLL); " +
  "`seapo train` weights per token (the NLL summed over every chosen token of the batch, divided by their count), so long chosen answers count for more there. They agree when a batch's chosen answers have one length.";

/**
 * The reference from elsewhere: FinetuningArguments' ref_model (a model folder) with
 * ref_model_adapters (a PEFT adapter on it), as train/trainer_utils.py create_ref_model loads them.
 * It reads the adapter only together with ref_model, so an adapter alone names the base model.
 */
function referenceKeys(config: TrainConfig): Keys {
  const { model, adapter } = referenceSource(config);
  if (model === undefined && adapter === undefined) return {};
  return { ref_model: model ?? config.model, ...(adapter === undefined ? {} : { ref_model_adapters: adapter }) };
}

/** Settings LLaMA-Factory cannot reproduce: refused rather than trained differently. */
function refuseInexact(config: TrainConfig): void {
  if (config.ldAlpha !== undefined)
    throw new SeapoError(
      `--ld-alpha: LLaMA-Factory's ld_alpha down-weights the policy's log-probs only (train/trainer_utils.py get_batch_logps is called without it for the reference), ` +
        `while seapo train and TRL weight the reference's too; export to trl, or drop --ld-alpha`,
    );
  if (!config.disableDropout && config.finetuning === "lora" && config.lora.dropout > 0)
    throw new SeapoError(
      `--no-disable-dropout: LLaMA-Factory's DPO and KTO trainers always switch dropout off (CustomDPOTrainer/CustomKTOTrainer disable_dropout=True, no config key), ` +
        `so --lora-dropout ${config.lora.dropout} would not train; export to trl (disable_dropout: false), or set --lora-dropout 0`,
    );
}
