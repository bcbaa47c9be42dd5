/**
 * `seapo export`: hand a SeaPO run to a multi-GPU engine, LLaMA-Factory or TRL, with the
 * hyperparameters `seapo train` would use. Pure functions: a TrainConfig and the checked rows in,
 * the files to write (relative to the export folder) and the launch command out.
 *
 * Where the key names come from (each project's own sources, read for this; our summary):
 *  - LLaMA-Factory (github.com/hiyouga/LLaMA-Factory): src/llamafactory/hparams/finetuning_args.py
 *    (stage, finetuning_type, lora_rank/alpha/dropout/target, pref_beta, pref_loss ∈ {sigmoid, hinge,
 *    ipo, kto_pair, orpo, simpo}, pref_ftx, dpo_label_smoothing, simpo_gamma, kto_chosen_weight,
 *    kto_rejected_weight), hparams/data_args.py (dataset, eval_dataset, dataset_dir, template,
 *    cutoff_len), data/README.md (dataset_info.json entries), examples/train_lora/qwen3_lora_{dpo,kto}.yaml,
 *    examples/deepspeed/ds_z{2,3}_config.json, and the FORCE_TORCHRUN / NPROC_PER_NODE launcher variables
 *    of src/llamafactory/cli.py.
 *  - TRL (github.com/huggingface/trl): trl/trainer/dpo_config.py as of v0.28 (loss_type, possibly a list,
 *    with loss_weights; beta, label_smoothing, discopop_tau, max_length, truncation_mode,
 *    precompute_ref_log_probs), trl/trainer/kto_config.py (loss_type kto | apo_zero_unpaired,
 *    desirable_weight, undesirable_weight), trl/trainer/model_config.py (use_peft, lora_r, lora_alpha,
 *    lora_dropout, lora_target_modules), the scripts' ScriptArguments (dataset_name,
 *    dataset_train_split, dataset_test_split) and docs/source/clis.md (`trl dpo --config FILE
 *    --accelerate_config FILE`); accelerate configs shaped like examples/accelerate_configs/*.yaml.
 *  - Both trainers take transformers' TrainingArguments (learning_rate, lr_scheduler_type, warmup_*,
 *    num_train_epochs, per_device_train_batch_size, gradient_accumulation_steps, …).
 */
import { stringify } from "yaml";
import { LORA_TARGETS } from "../engine/index.js";
import type { ChatMessage } from "../engine/io/index.js";
import { InputError, SeapoError } from "../errors.js";
import {
  llamaFactoryDatasetInfo,
  type LlamaFactoryDpoRow,
  type LlamaFactoryKtoRow,
  type ShareGptTurn,
} from "../data/training-rows.js";
import { parseLossSpec, type TrainConfig } from "./config.js";
import { rowsForLoss, type PreferenceRows } from "./data.js";
import { LOSSES, lossRequirements, type LossName, type LossRequirements, type LossTerm } from "./losses/index.js";

export const EXPORT_TARGETS = ["llamafactory", "trl"] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];
/** DeepSpeed ZeRO stage of the written config, or none (plain data parallel). */
export const ZERO_STAGES = ["none", "2", "3"] as const;
export type ZeroStage = (typeof ZERO_STAGES)[number];
/** TRL row shape: conversational (message lists, the chat template applied as `seapo train` does) or standard (plain text). */
export const TRL_FORMATS = ["conversational", "standard"] as const;
export type TrlFormat = (typeof TRL_FORMATS)[number];

export interface ExportOptions {
  target: ExportTarget;
  /** LLaMA-Factory chat template; guessed from the model name when absent. */
  template?: string;
  /** GPUs per machine. */
  gpus: number;
  zero: ZeroStage;
  trlFormat: TrlFormat;
}

/** Rows as read by readPreferenceRows, with the file they came from (for errors). */
export interface RowsFrom {
  file: string;
  data: PreferenceRows;
}

export interface ExportFile {
  /** Relative to the export folder. */
  path: string;
  text: string;
}

export interface Recipe {
  files: ExportFile[];
  /** Run from inside the export folder. */
  command: string;
  rows: number;
}

/** Every path in a recipe is relative to the export folder, so it can be copied to a cluster as is. */
export const RECIPE_FILES = {
  readme: "README.md",
  dataDir: "data",
  llamaFactoryConfig: "train.yaml",
  datasetInfo: "data/dataset_info.json",
  trlConfig: "trl.yaml",
  accelerateConfig: "accelerate.yaml",
  trlTrain: "data/train.jsonl",
  trlTest: "data/test.jsonl",
  outputDir: "output",
} as const;

export function deepSpeedFile(zero: Exclude<ZeroStage, "none">): string {
  return `ds_z${zero}_config.json`;
}

// ---------------------------------------------------------------------------------------------
// losses

/** How a target spells one of our losses: its name, and which of our parameters become which of its keys. */
interface LossMapping {
  name: string;
  params?: Readonly<Record<string, string>>;
}

/** LLaMA-Factory: stage kto, or stage dpo with this pref_loss. Its ORPO is our orpo_llamafactory. */
const LLAMAFACTORY_LOSSES: Partial<Record<LossName, LossMapping>> = {
  kto: { name: "kto", params: { desirable_weight: "kto_chosen_weight", undesirable_weight: "kto_rejected_weight" } },
  dpo_sigmoid: { name: "sigmoid" },
  cdpo: { name: "sigmoid", params: { label_smoothing: "dpo_label_smoothing" } },
  hinge: { name: "hinge" },
  ipo: { name: "ipo" },
  orpo_llamafactory: { name: "orpo" },
  simpo: { name: "simpo", params: { simpo_gamma: "simpo_gamma" } },
};

/** TRL: `trl kto` takes the unpaired losses, `trl dpo` the DPO family (cDPO is its sigmoid with label_smoothing). */
const TRL_KTO_LOSSES: Partial<Record<LossName, LossMapping>> = {
  kto: { name: "kto", params: { desirable_weight: "desirable_weight", undesirable_weight: "undesirable_weight" } },
  apo_zero_unpaired: {
    name: "apo_zero_unpaired",
    params: { desirable_weight: "desirable_weight", undesirable_weight: "undesirable_weight" },
  },
};
const TRL_DPO_LOSSES: Partial<Record<LossName, LossMapping>> = {
  dpo_sigmoid: { name: "sigmoid" },
  cdpo: { name: "sigmoid", params: { label_smoothing: "label_smoothing" } },
  robust: { name: "robust", params: { label_smoothing: "label_smoothing" } },
  hinge: { name: "hinge" },
  ipo: { name: "ipo" },
  exo_pair: { name: "exo_pair", params: { label_smoothing: "label_smoothing" } },
  nca_pair: { name: "nca_pair" },
  bco_pair: { name: "bco_pair" },
  sppo_hard: { name: "sppo_hard" },
  apo_zero: { name: "apo_zero" },
  apo_down: { name: "apo_down" },
  discopop: { name: "discopop", params: { discopop_tau: "discopop_tau" } },
  sft: { name: "sft" },
};

const LOSS_HINTS: Partial<Record<LossName, string>> = {
  orpo: "LLaMA-Factory's ORPO is our orpo_llamafactory (its NLL term is averaged per pair); TRL has ORPO only in its ORPOTrainer, which has no `trl` command",
  simpo: "TRL runs SimPO in its CPOTrainer, which has no `trl` command; export it to llamafactory",
  cpo: "TRL runs CPO in its CPOTrainer, which has no `trl` command",
};

type Keys = Record<string, string | number | boolean | string[] | number[] | null | Record<string, number>>;

function supported(table: Partial<Record<LossName, LossMapping>>): string {
  return Object.keys(table).join(", ");
}

/** One term → the target's loss name and keys. A parameter the target cannot express must keep our default. */
function mapTerm(
  term: LossTerm,
  table: Partial<Record<LossName, LossMapping>>,
  target: string,
  also = "",
): { name: string; keys: Keys } {
  const mapping = table[term.name];
  if (mapping === undefined) {
    const hint = LOSS_HINTS[term.name] === undefined ? "" : `; ${LOSS_HINTS[term.name]}`;
    throw new SeapoError(
      `--loss ${term.name}: ${target} has no such loss; it supports ${supported(table)}${also}${hint}`,
    );
  }
  const defaults = LOSSES[term.name].params as Readonly<Record<string, number | null>>;
  const keys: Keys = {};
  for (const [param, value] of Object.entries({ ...defaults, ...(term.params ?? {}) })) {
    if (param === "beta") continue;
    const key = mapping.params?.[param];
    if (key !== undefined) keys[key] = value;
    else if (value !== defaults[param])
      throw new SeapoError(
        `--loss ${term.name}: ${target} has no setting for ${param} (${value}); leave it at the default ${defaults[param]}`,
      );
  }
  return { name: mapping.name, keys };
}

/** The one β a target takes: every term that has a β must agree. */
function sharedBeta(terms: readonly LossTerm[], config: TrainConfig, target: string): number {
  const betas = [...new Set(terms.map((t) => t.params?.beta).filter((b): b is number => b !== undefined))];
  if (betas.length > 1)
    throw new SeapoError(`--loss ${config.loss}: ${target} takes one beta, but the terms use ${betas.join(" and ")}`);
  return betas[0] ?? config.beta;
}

/** LLaMA-Factory's stage and loss keys: one preference loss, optionally plus sft:w as pref_ftx. */
export function llamaFactoryLoss(config: TrainConfig): Keys {
  const terms = parseLossSpec(config.loss, config);
  const main = terms.filter((t) => t.name !== "sft");
  const sft = terms.filter((t) => t.name === "sft");
  const also = ", plus sft:w added to a DPO-family loss (pref_ftx)";
  if (main.length !== 1 || sft.length > 1)
    throw new SeapoError(
      `--loss ${config.loss}: LLaMA-Factory trains one preference loss (${supported(LLAMAFACTORY_LOSSES)})${also}`,
    );
  const term = main[0]!;
  if ((term.weight ?? 1) !== 1)
    throw new SeapoError(
      `--loss ${config.loss}: LLaMA-Factory weights its preference loss 1; give ${term.name} weight 1`,
    );
  const { name, keys } = mapTerm(term, LLAMAFACTORY_LOSSES, "LLaMA-Factory", also);
  const pref_beta = sharedBeta(terms, config, "LLaMA-Factory");
  if (name === "kto") return { stage: "kto", pref_beta, ...keys };
  return {
    stage: "dpo",
    pref_beta,
    pref_loss: name,
    ...keys,
    ...(sft.length === 1 ? { pref_ftx: sft[0]!.weight ?? 1 } : {}),
  };
}

/** TRL's trainer (`trl kto` or `trl dpo`) and loss keys; several DPO-family terms become a loss_type list with loss_weights. */
export function trlLoss(config: TrainConfig): { trainer: "dpo" | "kto"; keys: Keys } {
  const terms = parseLossSpec(config.loss, config);
  const beta = sharedBeta(terms, config, "TRL");
  if (lossRequirements(terms).kind === "unpaired") {
    const term = terms[0]!;
    if (terms.length !== 1 || (term.weight ?? 1) !== 1)
      throw new SeapoError(
        `--loss ${config.loss}: TRL's KTO trainer takes one loss of weight 1 (${supported(TRL_KTO_LOSSES)})`,
      );
    const { name, keys } = mapTerm(term, TRL_KTO_LOSSES, "TRL's KTO trainer");
    return { trainer: "kto", keys: { beta, loss_type: name, ...keys } };
  }
  const mapped = terms.map((t) => ({ ...mapTerm(t, TRL_DPO_LOSSES, "TRL's DPO trainer"), weight: t.weight ?? 1 }));
  const names = mapped.map((m) => m.name);
  if (new Set(names).size !== names.length)
    throw new SeapoError(`--loss ${config.loss}: two terms are the same TRL loss (${names.join(", ")})`);
  const keys: Keys = {};
  for (const m of mapped) {
    for (const [key, value] of Object.entries(m.keys)) {
      if (key in keys && keys[key] !== value)
        throw new SeapoError(`--loss ${config.loss}: TRL has one ${key}, but the terms set ${keys[key]} and ${value}`);
      keys[key] = value;
    }
  }
  const weighted = mapped.some((m) => m.weight !== 1);
  const lossType = names.length === 1 ? names[0]! : names;
  return {
    trainer: "dpo",
    keys: { beta, loss_type: lossType, ...(weighted ? { loss_weights: mapped.map((m) => m.weight) } : {}), ...keys },
  };
}

// ---------------------------------------------------------------------------------------------
// hyperparameters shared by both (transformers' TrainingArguments)

/** Our schedule in transformers' terms: cosine/linear decay to lr·minLrRatio after linear warm-up. */
export function scheduleKeys(config: TrainConfig): Keys {
  let schedule: Keys;
  if (config.schedule === "constant")
    schedule = {
      lr_scheduler_type: config.warmupSteps > 0 || config.warmupRatio > 0 ? "constant_with_warmup" : "constant",
    };
  else if (config.minLrRatio === 0) schedule = { lr_scheduler_type: config.schedule };
  else if (config.schedule === "cosine")
    schedule = { lr_scheduler_type: "cosine_with_min_lr", lr_scheduler_kwargs: { min_lr_rate: config.minLrRatio } };
  else
    throw new SeapoError(
      `--schedule linear --min-lr-ratio ${config.minLrRatio}: transformers' linear schedule always ends at 0; use cosine, or --min-lr-ratio 0`,
    );
  // Like lrAt: warmupSteps wins; otherwise ceil(warmupRatio · total steps), as transformers computes it.
  const warmup: Keys =
    config.warmupSteps > 0
      ? { warmup_steps: config.warmupSteps }
      : config.warmupRatio > 0
        ? { warmup_ratio: config.warmupRatio }
        : { warmup_steps: 0 };
  return { ...schedule, ...warmup };
}

function trainingKeys(config: TrainConfig, evaluate: boolean): Keys {
  return {
    learning_rate: config.lr,
    ...scheduleKeys(config),
    num_train_epochs: config.epochs,
    ...(config.maxSteps === undefined ? {} : { max_steps: config.maxSteps }),
    per_device_train_batch_size: config.batchSize,
    gradient_accumulation_steps: config.gradAccum,
    weight_decay: config.weightDecay,
    max_grad_norm: config.maxGradNorm,
    seed: config.seed,
    bf16: true,
    logging_steps: config.logEvery,
    save_steps: config.saveEvery,
    save_total_limit: config.keepCheckpoints,
    ...(evaluate
      ? {
          per_device_eval_batch_size: config.batchSize,
          eval_strategy: config.evalEvery === undefined ? "epoch" : "steps",
          ...(config.evalEvery === undefined ? {} : { eval_steps: config.evalEvery }),
        }
      : {}),
    output_dir: RECIPE_FILES.outputDir,
    report_to: "none",
  };
}

function allTargets(config: TrainConfig): boolean {
  return LORA_TARGETS.every((t) => config.lora.targets.includes(t));
}

// ---------------------------------------------------------------------------------------------
// DeepSpeed and accelerate

/** A ZeRO-2 or ZeRO-3 config whose batch, clipping and precision values are "auto" (filled from the trainer's arguments). */
export function deepSpeedConfig(zero: Exclude<ZeroStage, "none">): Record<string, unknown> {
  const stage =
    zero === "2"
      ? {
          stage: 2,
          allgather_partitions: true,
          allgather_bucket_size: 500_000_000,
          overlap_comm: false,
          reduce_scatter: true,
          reduce_bucket_size: 500_000_000,
          contiguous_gradients: true,
          round_robin_gradients: true,
        }
      : {
          stage: 3,
          overlap_comm: false,
          contiguous_gradients: true,
          sub_group_size: 1_000_000_000,
          reduce_bucket_size: "auto",
          stage3_prefetch_bucket_size: "auto",
          stage3_param_persistence_threshold: "auto",
          stage3_max_live_parameters: 1_000_000_000,
          stage3_max_reuse_distance: 1_000_000_000,
          stage3_gather_16bit_weights_on_model_save: true,
        };
  return {
    train_batch_size: "auto",
    train_micro_batch_size_per_gpu: "auto",
    gradient_accumulation_steps: "auto",
    gradient_clipping: "auto",
    zero_allow_untested_optimizer: true,
    fp16: {
      enabled: "auto",
      loss_scale: 0,
      loss_scale_window: 1000,
      initial_scale_power: 16,
      hysteresis: 2,
      min_loss_scale: 1,
    },
    bf16: { enabled: "auto" },
    zero_optimization: stage,
  };
}

/**
 * accelerate's launch config for `trl`: one machine with `gpus` processes, DeepSpeed through the
 * JSON file above (accelerate refuses values set in both places, so batch and precision live in
 * the JSON only), or plain multi-GPU data parallel.
 */
export function accelerateConfig(gpus: number, zero: ZeroStage): Record<string, unknown> {
  const common = {
    compute_environment: "LOCAL_MACHINE",
    debug: false,
    downcast_bf16: "no",
    machine_rank: 0,
    main_training_function: "main",
    num_machines: 1,
    num_processes: gpus,
    rdzv_backend: "static",
    same_network: true,
    tpu_env: [],
    tpu_use_cluster: false,
    tpu_use_sudo: false,
    use_cpu: false,
  };
  if (zero === "none")
    return { ...common, distributed_type: gpus > 1 ? "MULTI_GPU" : "NO", gpu_ids: "all", mixed_precision: "no" };
  return {
    ...common,
    distributed_type: "DEEPSPEED",
    deepspeed_config: {
      deepspeed_config_file: deepSpeedFile(zero),
      deepspeed_multinode_launcher: "standard",
      zero3_init_flag: zero === "3",
    },
  };
}

// ---------------------------------------------------------------------------------------------
// rows

/** The rows of `rows` a loss of `kind` trains on, refused as the trainer refuses them. */
function rowsForRecipe(rows: RowsFrom, kind: LossRequirements["kind"], config: TrainConfig): PreferenceRows {
  return rowsForLoss(rows.data, kind, {
    file: rows.file,
    loss: config.loss,
    hint: "export dpo.jsonl, or use --loss kto",
  });
}

const SHAREGPT_FROM: Record<string, ShareGptTurn["from"]> = { system: "system", user: "human", assistant: "gpt" };

/** LLaMA-Factory's sharegpt rule: an optional system message, then user/assistant turns alternating, ending with the user. */
function checkShareGpt(messages: readonly ChatMessage[], file: string, line: number): void {
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

/** TRL's explicit-prompt rows: conversational (message lists) or standard (text; only for one-user-turn prompts). */
function trlRows(rows: PreferenceRows, file: string, format: TrlFormat): Record<string, unknown>[] {
  const prompt = (messages: ChatMessage[], line: number): string | ChatMessage[] => {
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
  const answer = (text: string): string | ChatMessage[] =>
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

function jsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

/**
 * Both engines read YAML with PyYAML, whose YAML 1.1 rules read `no`/`on` as booleans and a float
 * only with a dot and a signed exponent (`1.0e-7`, not `1e-7`): strings are quoted by the 1.1
 * schema, and exponent floats are written in that form.
 */
const PYYAML_EXP_FLOAT = {
  tag: "tag:yaml.org,2002:float",
  default: true,
  identify: (value: unknown) => typeof value === "number" && Number.isFinite(value) && String(value).includes("e"),
  test: /^[-+]?[0-9]+\.[0-9]+e[-+][0-9]+$/,
  resolve: (text: string) => Number.parseFloat(text),
  stringify: ({ value }: { value: unknown }) => {
    const [mantissa, exponent] = (value as number).toExponential().split("e");
    return `${mantissa!.includes(".") ? mantissa : `${mantissa}.0`}e${exponent}`;
  },
};

export function yamlText(comment: string, value: Record<string, unknown>): string {
  return `# ${comment}\n${stringify(value, { version: "1.1", customTags: (tags) => [PYYAML_EXP_FLOAT, ...tags], lineWidth: 0 })}`;
}

// ---------------------------------------------------------------------------------------------
// LLaMA-Factory chat templates

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

// ---------------------------------------------------------------------------------------------
// the recipes

export function buildRecipe(
  config: TrainConfig,
  train: RowsFrom,
  evalRows: RowsFrom | undefined,
  options: ExportOptions,
): Recipe {
  if (!Number.isInteger(options.gpus) || options.gpus < 1)
    throw new SeapoError(`--gpus must be a whole number ≥ 1, got ${options.gpus}`);
  return options.target === "llamafactory"
    ? llamaFactoryRecipe(config, train, evalRows, options)
    : trlRecipe(config, train, evalRows, options);
}

function llamaFactoryRecipe(
  config: TrainConfig,
  train: RowsFrom,
  evalRows: RowsFrom | undefined,
  options: ExportOptions,
): Recipe {
  const { stage, ...lossKeys } = llamaFactoryLoss(config);
  const kto = stage === "kto";
  const template = llamaFactoryTemplate(config.model, options.template);
  const trainRows = llamaFactoryRows(rowsForRecipe(train, kto ? "unpaired" : "paired", config), train.file);
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
    dataset,
    ...(evalData === undefined ? {} : { eval_dataset: evalDataset }),
    dataset_dir: RECIPE_FILES.dataDir,
    template,
    cutoff_len: config.maxLength,
    ...(options.zero === "none" ? {} : { deepspeed: deepSpeedFile(options.zero) }),
    ...trainingKeys(config, evalData !== undefined),
  };
  const files: ExportFile[] = [
    { path: `${RECIPE_FILES.dataDir}/${dataset}.jsonl`, text: jsonl(trainRows) },
    ...(evalData === undefined
      ? []
      : [{ path: `${RECIPE_FILES.dataDir}/${evalDataset}.jsonl`, text: jsonl(evalData) }]),
    { path: RECIPE_FILES.datasetInfo, text: `${JSON.stringify(info, null, 2)}\n` },
    {
      path: RECIPE_FILES.llamaFactoryConfig,
      text: yamlText(
        `LLaMA-Factory ${String(stage)} recipe written by seapo export (the hyperparameters of \`seapo train\`)`,
        yaml,
      ),
    },
  ];
  if (options.zero !== "none")
    files.push({
      path: deepSpeedFile(options.zero),
      text: `${JSON.stringify(deepSpeedConfig(options.zero), null, 2)}\n`,
    });
  const torchrun =
    options.zero !== "none" || options.gpus > 1 ? `FORCE_TORCHRUN=1 NPROC_PER_NODE=${options.gpus} ` : "";
  const command = `${torchrun}llamafactory-cli train ${RECIPE_FILES.llamaFactoryConfig}`;
  files.push({ path: RECIPE_FILES.readme, text: readme(config, options, files, command, trainRows.length) });
  return { files, command, rows: trainRows.length };
}

function trlRecipe(
  config: TrainConfig,
  train: RowsFrom,
  evalRows: RowsFrom | undefined,
  options: ExportOptions,
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
  const files: ExportFile[] = [
    { path: RECIPE_FILES.trlTrain, text: jsonl(trainRows) },
    ...(evalData === undefined ? [] : [{ path: RECIPE_FILES.trlTest, text: jsonl(evalData) }]),
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
  if (options.zero !== "none")
    files.push({
      path: deepSpeedFile(options.zero),
      text: `${JSON.stringify(deepSpeedConfig(options.zero), null, 2)}\n`,
    });
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

function readme(
  config: TrainConfig,
  options: ExportOptions,
  files: readonly ExportFile[],
  command: string,
  rows: number,
  alternative?: string,
): string {
  const engine = options.target === "llamafactory" ? "LLaMA-Factory" : "TRL";
  const effective = config.batchSize * config.gradAccum;
  const lines = [
    `# seapo export → ${engine}`,
    "",
    `The \`seapo train\` run below, handed to ${engine}: loss \`${config.loss}\` (beta ${config.beta}), lr ${config.lr} ${config.schedule}, ` +
      `${config.epochs} epoch(s), batch ${config.batchSize} × accumulation ${config.gradAccum}, cut-off ${config.maxLength}, ` +
      (config.finetuning === "lora"
        ? `LoRA r ${config.lora.rank} / alpha ${config.lora.alpha} on ${config.lora.targets.join(", ")}, `
        : "full fine-tuning, ") +
      `seed ${config.seed}; model \`${config.model}\`; ${rows} training row(s).`,
    "",
    "## Files",
    "",
    ...files.map((f) => `- \`${f.path}\``),
    `- \`${RECIPE_FILES.readme}\` (this file)`,
    "",
    "## Launch",
    "",
    "Every path is relative to this folder: run from here (copy the folder to the cluster as it is).",
    "",
    "```bash",
    command,
    "```",
    ...(alternative === undefined ? [] : ["", "or, with accelerate directly:", "", "```bash", alternative, "```"]),
    "",
    "## Notes",
    "",
    `- Each optimizer step sees ${options.gpus} GPU(s) × ${config.batchSize} × ${config.gradAccum} rows; \`seapo train\` sees ${effective}. ` +
      `To keep its effective batch, divide \`gradient_accumulation_steps\` by the number of GPUs.`,
    options.target === "llamafactory"
      ? `- More machines: set NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT before the command on each one.`
      : `- More machines: set \`num_machines\`, \`machine_rank\` and the main process address in \`${RECIPE_FILES.accelerateConfig}\` on each one.`,
    `- bf16 mixed precision is on (\`seapo train\` computes in float32 on the CPU).`,
    `- Checkpoints and the trained adapter go to \`${RECIPE_FILES.outputDir}/\`.`,
  ];
  return `${lines.join("\n")}\n`;
}
