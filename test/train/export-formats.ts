/**
 * The formats a `seapo export` recipe must match, as each tool documents them: the keys each
 * trainer accepts, and zod shapes of its config files and rows.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { z } from "zod";

/** transformers' SchedulerType values (src/transformers/trainer_utils.py). */
const SCHEDULER_TYPES = [
  "linear",
  "cosine",
  "cosine_with_restarts",
  "polynomial",
  "constant",
  "constant_with_warmup",
  "inverse_sqrt",
  "reduce_lr_on_plateau",
  "cosine_with_min_lr",
  "warmup_stable_decay",
] as const;

/** The generated allow-lists (test/train/generators/export_allow_lists.py; repo, tag, commit and file per list). */
interface ClassRecord {
  name: string;
  file?: string;
  from?: { repo: string; commit: string; file: string };
  fields: string[];
}
interface AllowListsFixture {
  generator: string;
  trl: Record<
    string,
    {
      repo: string;
      tag: string;
      commit: string;
      scripts: Record<
        "dpo" | "kto",
        { script: string; classes: ClassRecord[]; loss_types: { file: string; values: string[] } }
      >;
      sigmoid_reads_label_smoothing: { file: string; value: boolean };
      accelerate_config_reaches_launch: { file: string; value: boolean };
    }
  >;
  llamafactory: {
    repo: string;
    describe: string;
    commit: string;
    classes: ClassRecord[];
    pref_loss: { file: string; values: string[] };
  };
}
export const allowLists = JSON.parse(
  readFileSync(new URL("./fixtures/export-allow-lists.json", import.meta.url), "utf8"),
) as AllowListsFixture;

/** Every field `trl dpo|kto` of a TRL tag parses: the union over the script's dataclass_types. */
export function trlFields(tag: string, trainer: "dpo" | "kto"): Set<string> {
  const version = allowLists.trl[tag];
  if (version === undefined) throw new Error(`no allow-list for TRL ${tag}`);
  return new Set(version.scripts[trainer].classes.flatMap((c) => c.fields));
}

/** Every field `llamafactory-cli train` parses (hparams/parser.py _TRAIN_ARGS). */
export function llamaFactoryFields(): Set<string> {
  return new Set(allowLists.llamafactory.classes.flatMap((c) => c.fields));
}

const auto = <T extends z.ZodType>(type: T) => z.union([z.literal("auto"), type]);
const trainingArguments = {
  learning_rate: z.number().positive(),
  lr_scheduler_type: z.enum(SCHEDULER_TYPES),
  lr_scheduler_kwargs: z.record(z.string(), z.number()).optional(),
  // transformers 5.x: a step count, or below 1 a share of the steps.
  warmup_steps: z.number().min(0),
  num_train_epochs: z.number().positive(),
  max_steps: z.number().int().positive().optional(),
  per_device_train_batch_size: z.number().int().positive(),
  per_device_eval_batch_size: z.number().int().positive().optional(),
  gradient_accumulation_steps: z.number().int().positive(),
  weight_decay: z.number().min(0),
  max_grad_norm: z.number().min(0),
  seed: z.number().int(),
  bf16: z.boolean(),
  logging_steps: z.number().positive(),
  save_steps: z.number().positive(),
  save_total_limit: z.number().int().positive(),
  eval_strategy: z.enum(["no", "steps", "epoch"]).optional(),
  eval_steps: z.number().positive().optional(),
  output_dir: z.string(),
  report_to: z.string(),
};

/** LLaMA-Factory's train YAML: hparams/finetuning_args.py, data_args.py, model_args.py, plus TrainingArguments. */
export const llamaFactoryYaml = z.strictObject({
  model_name_or_path: z.string().min(1),
  stage: z.enum(["pt", "sft", "rm", "ppo", "dpo", "kto"]),
  do_train: z.literal(true),
  finetuning_type: z.enum(["lora", "oft", "freeze", "full"]),
  lora_rank: z.number().int().positive().optional(),
  lora_alpha: z.number().positive().optional(),
  lora_dropout: z.number().min(0).optional(),
  lora_target: z.string().optional(),
  pref_beta: z.number().positive(),
  pref_loss: z.enum(["sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo"]).optional(),
  pref_ftx: z.number().min(0).optional(),
  dpo_label_smoothing: z.number().min(0).max(0.5).optional(),
  simpo_gamma: z.number().optional(),
  kto_chosen_weight: z.number().positive().optional(),
  kto_rejected_weight: z.number().positive().optional(),
  ref_model: z.string().min(1).optional(),
  ref_model_adapters: z.string().min(1).optional(),
  dataset: z.string().min(1),
  eval_dataset: z.string().optional(),
  dataset_dir: z.string(),
  template: z.string().min(1),
  cutoff_len: z.number().int().positive(),
  deepspeed: z.string().optional(),
  ...trainingArguments,
});

/** One dataset_info.json entry, as LLaMA-Factory's data/README.md documents it. */
export const datasetInfoEntry = z.strictObject({
  file_name: z.string().min(1),
  formatting: z.enum(["alpaca", "sharegpt"]).optional(),
  ranking: z.boolean().optional(),
  columns: z
    .strictObject({
      prompt: z.string(),
      query: z.string(),
      response: z.string(),
      history: z.string(),
      messages: z.string(),
      system: z.string(),
      tools: z.string(),
      images: z.string(),
      chosen: z.string(),
      rejected: z.string(),
      kto_tag: z.string(),
    })
    .partial()
    .optional(),
  tags: z
    .strictObject({
      role_tag: z.string(),
      content_tag: z.string(),
      user_tag: z.string(),
      assistant_tag: z.string(),
      observation_tag: z.string(),
      function_tag: z.string(),
      system_tag: z.string(),
    })
    .partial()
    .optional(),
});
export type DatasetInfoEntry = z.infer<typeof datasetInfoEntry>;

/** The TRL config: typed where we write a value, and every key a real field (checked against the lists above). */
export const trlYaml = z.object({
  model_name_or_path: z.string().min(1),
  dataset_name: z.string().min(1),
  dataset_train_split: z.string(),
  dataset_test_split: z.string().optional(),
  use_peft: z.boolean(),
  lora_r: z.number().int().positive().optional(),
  lora_alpha: z.number().positive().optional(),
  lora_dropout: z.number().min(0).optional(),
  lora_target_modules: z.array(z.string()).optional(),
  beta: z.number().positive(),
  loss_type: z.union([z.string(), z.array(z.string())]),
  loss_weights: z.array(z.number()).optional(),
  desirable_weight: z.number().positive().optional(),
  undesirable_weight: z.number().positive().optional(),
  max_length: z.number().int().positive(),
  max_prompt_length: z.null().optional(),
  truncation_mode: z.enum(["keep_end", "keep_start"]).optional(),
  disable_dropout: z.boolean(),
  ld_alpha: z.number().min(0).max(1).optional(),
  precompute_ref_log_probs: z.boolean().optional(),
  ...trainingArguments,
});

/** DeepSpeed's JSON (deepspeed.ai/docs/config-json), with the "auto" values the transformers integration fills in. */
export const deepSpeedJson = z.strictObject({
  train_batch_size: auto(z.number().int()),
  train_micro_batch_size_per_gpu: auto(z.number().int()),
  gradient_accumulation_steps: auto(z.number().int()),
  gradient_clipping: auto(z.number()),
  zero_allow_untested_optimizer: z.boolean(),
  fp16: z.strictObject({
    enabled: auto(z.boolean()),
    loss_scale: z.number(),
    loss_scale_window: z.number(),
    initial_scale_power: z.number(),
    hysteresis: z.number(),
    min_loss_scale: z.number(),
  }),
  bf16: z.strictObject({ enabled: auto(z.boolean()) }),
  zero_optimization: z.discriminatedUnion("stage", [
    z.strictObject({
      stage: z.literal(2),
      allgather_partitions: z.boolean(),
      allgather_bucket_size: z.number().int(),
      overlap_comm: z.boolean(),
      reduce_scatter: z.boolean(),
      reduce_bucket_size: auto(z.number().int()),
      contiguous_gradients: z.boolean(),
      round_robin_gradients: z.boolean(),
    }),
    z.strictObject({
      stage: z.literal(3),
      overlap_comm: z.boolean(),
      contiguous_gradients: z.boolean(),
      sub_group_size: z.number().int(),
      reduce_bucket_size: auto(z.number().int()),
      stage3_prefetch_bucket_size: auto(z.number().int()),
      stage3_param_persistence_threshold: auto(z.number().int()),
      stage3_max_live_parameters: z.number().int(),
      stage3_max_reuse_distance: z.number().int(),
      stage3_gather_16bit_weights_on_model_save: z.boolean(),
    }),
  ]),
});

/**
 * accelerate's config file (the keys `accelerate config` writes; TRL's examples/accelerate_configs).
 * With deepspeed_config_file, accelerate refuses batch, clipping, ZeRO and precision settings of its own.
 */
export const accelerateYaml = z.strictObject({
  compute_environment: z.literal("LOCAL_MACHINE"),
  debug: z.boolean(),
  distributed_type: z.enum(["NO", "MULTI_GPU", "DEEPSPEED", "FSDP"]),
  downcast_bf16: z.literal("no"),
  gpu_ids: z.string().optional(),
  machine_rank: z.number().int().min(0),
  main_training_function: z.string(),
  mixed_precision: z.enum(["no", "fp16", "bf16"]).optional(),
  num_machines: z.number().int().positive(),
  num_processes: z.number().int().positive(),
  rdzv_backend: z.string(),
  same_network: z.boolean(),
  tpu_env: z.array(z.string()),
  tpu_use_cluster: z.boolean(),
  tpu_use_sudo: z.boolean(),
  use_cpu: z.boolean(),
  deepspeed_config: z
    .strictObject({
      deepspeed_config_file: z.string(),
      deepspeed_multinode_launcher: z.string(),
      zero3_init_flag: z.boolean(),
    })
    .optional(),
});

// TRL's dataset formats (docs/source/dataset_formats.md): explicit prompt, conversational or standard.
const message = z.strictObject({ role: z.enum(["system", "user", "assistant"]), content: z.string() });
const assistantTurn = z.tuple([z.strictObject({ role: z.literal("assistant"), content: z.string().min(1) })]);
export const trlRow = {
  conversational: {
    paired: z.strictObject({ prompt: z.array(message).min(1), chosen: assistantTurn, rejected: assistantTurn }),
    unpaired: z.strictObject({ prompt: z.array(message).min(1), completion: assistantTurn, label: z.boolean() }),
  },
  standard: {
    paired: z.strictObject({ prompt: z.string().min(1), chosen: z.string().min(1), rejected: z.string().min(1) }),
    unpaired: z.strictObject({ prompt: z.string().min(1), completion: z.string().min(1), label: z.boolean() }),
  },
};

/** A row matches its dataset_info entry: sharegpt turns in LLaMA-Factory's order, kto_tag a boolean, nothing outside the columns. */
export function checkLlamaFactoryRow(entry: DatasetInfoEntry, row: Record<string, unknown>): void {
  const columns = entry.columns ?? {};
  const tags = {
    role_tag: "from",
    content_tag: "value",
    user_tag: "human",
    assistant_tag: "gpt",
    system_tag: "system",
    ...entry.tags,
  };
  expect(Object.keys(row).sort()).toEqual(Object.values(columns).sort());
  const turn = (value: unknown) =>
    z.strictObject({ [tags.role_tag]: z.string(), [tags.content_tag]: z.string().min(1) }).parse(value) as Record<
      string,
      string
    >;
  const messages = z
    .array(z.unknown())
    .min(1)
    .parse(row[columns.messages ?? "conversations"])
    .map(turn);
  const turns = messages[0]![tags.role_tag] === tags.system_tag ? messages.slice(1) : messages;
  turns.forEach((m, i) => expect(m[tags.role_tag]).toBe(i % 2 === 0 ? tags.user_tag : tags.assistant_tag));
  if (entry.ranking) {
    expect(turns.length % 2).toBe(1);
    for (const column of [columns.chosen!, columns.rejected!])
      expect(turn(row[column])[tags.role_tag]).toBe(tags.assistant_tag);
  } else {
    expect(turns.length % 2).toBe(0);
    expect(typeof row[columns.kto_tag!]).toBe("boolean");
  }
}
