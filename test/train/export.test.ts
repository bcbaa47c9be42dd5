import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  toDpoConversationalRow,
  toDpoRow,
  toKtoRows,
  toLlamaFactoryDpoRow,
  toLlamaFactoryKtoRows,
} from "../../src/data/index.js";
import type { NegativeRecord } from "../../src/data/types.js";
import { InputError } from "../../src/errors.js";
import { loadTrainConfig } from "../../src/train/config.js";
import { RECIPE_FILES, writeRecipe, type RecipeOptions } from "../../src/train/recipes/index.js";
import { readJsonl, runCli } from "../helpers/cli.js";

// ---------------------------------------------------------------------------------------------
// The formats, as each tool documents them.

/** transformers' TrainingArguments (src/transformers/training_args.py), the fields a recipe may set. */
const TRAINING_ARGUMENTS = [
  "output_dir",
  "do_train",
  "learning_rate",
  "lr_scheduler_type",
  "lr_scheduler_kwargs",
  "warmup_steps",
  "warmup_ratio",
  "num_train_epochs",
  "max_steps",
  "per_device_train_batch_size",
  "per_device_eval_batch_size",
  "gradient_accumulation_steps",
  "weight_decay",
  "max_grad_norm",
  "seed",
  "bf16",
  "fp16",
  "logging_steps",
  "save_steps",
  "save_total_limit",
  "eval_strategy",
  "eval_steps",
  "report_to",
  "deepspeed",
  "gradient_checkpointing",
  "ddp_timeout",
];
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

/** TRL ModelConfig fields (trl/trainer/model_config.py). */
const TRL_MODEL_CONFIG = [
  "model_name_or_path",
  "model_revision",
  "dtype",
  "torch_dtype",
  "trust_remote_code",
  "attn_implementation",
  "use_peft",
  "lora_r",
  "lora_alpha",
  "lora_dropout",
  "lora_target_modules",
  "lora_modules_to_save",
  "lora_task_type",
  "use_rslora",
  "use_dora",
  "load_in_8bit",
  "load_in_4bit",
  "bnb_4bit_quant_type",
  "use_bnb_nested_quant",
];
/** TRL ScriptArguments fields (trl/scripts/utils.py). */
const TRL_SCRIPT_ARGUMENTS = [
  "dataset_name",
  "dataset_config",
  "dataset_train_split",
  "dataset_test_split",
  "dataset_streaming",
  "gradient_checkpointing_use_reentrant",
  "ignore_bias_buffers",
];
/** TRL DPOConfig fields of its own (trl/trainer/dpo_config.py, v0.28, deprecated ones included). */
const TRL_DPO_CONFIG = [
  "model_init_kwargs",
  "disable_dropout",
  "dataset_num_proc",
  "pad_token",
  "max_length",
  "truncation_mode",
  "padding_free",
  "precompute_ref_log_probs",
  "precompute_ref_batch_size",
  "loss_type",
  "beta",
  "f_divergence_type",
  "f_alpha_divergence_coef",
  "label_smoothing",
  "use_weighting",
  "ld_alpha",
  "discopop_tau",
  "loss_weights",
  "sync_ref_model",
  "ref_model_mixup_alpha",
  "ref_model_sync_steps",
  "max_prompt_length",
  "max_completion_length",
  "rpo_alpha",
  "reference_free",
  "ref_model_init_kwargs",
  "force_use_ref_model",
];
/** TRL DPOConfig loss_type values (same file). */
const TRL_DPO_LOSS_TYPES = [
  "sigmoid",
  "hinge",
  "ipo",
  "exo_pair",
  "nca_pair",
  "robust",
  "bco_pair",
  "sppo_hard",
  "aot",
  "aot_unpaired",
  "discopop",
  "apo_zero",
  "apo_down",
  "sft",
] as const;
/** TRL KTOConfig fields of its own (trl/trainer/kto_config.py). */
const TRL_KTO_CONFIG = [
  "max_length",
  "max_prompt_length",
  "max_completion_length",
  "beta",
  "loss_type",
  "desirable_weight",
  "undesirable_weight",
  "label_pad_token_id",
  "padding_value",
  "truncation_mode",
  "generate_during_eval",
  "is_encoder_decoder",
  "disable_dropout",
  "precompute_ref_log_probs",
  "model_init_kwargs",
  "ref_model_init_kwargs",
  "dataset_num_proc",
  "use_liger_loss",
];

const auto = <T extends z.ZodType>(type: T) => z.union([z.literal("auto"), type]);
const trainingArguments = {
  learning_rate: z.number().positive(),
  lr_scheduler_type: z.enum(SCHEDULER_TYPES),
  lr_scheduler_kwargs: z.record(z.string(), z.number()).optional(),
  warmup_steps: z.number().int().min(0).optional(),
  warmup_ratio: z.number().min(0).max(1).optional(),
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
const llamaFactoryYaml = z.strictObject({
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
  dataset: z.string().min(1),
  eval_dataset: z.string().optional(),
  dataset_dir: z.string(),
  template: z.string().min(1),
  cutoff_len: z.number().int().positive(),
  deepspeed: z.string().optional(),
  ...trainingArguments,
});

/** One dataset_info.json entry, as LLaMA-Factory's data/README.md documents it. */
const datasetInfoEntry = z.strictObject({
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
type DatasetInfoEntry = z.infer<typeof datasetInfoEntry>;

/** The TRL config: typed where we write a value, and every key a real field (checked against the lists above). */
const trlYaml = z.object({
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
  ...trainingArguments,
});

/** DeepSpeed's JSON (deepspeed.ai/docs/config-json), with the "auto" values the transformers integration fills in. */
const deepSpeedJson = z.strictObject({
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
const accelerateYaml = z.strictObject({
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
const trlRow = {
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
function checkLlamaFactoryRow(entry: DatasetInfoEntry, row: Record<string, unknown>): void {
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

// ---------------------------------------------------------------------------------------------
// Data as the data engine writes it.

const records: NegativeRecord[] = [
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

function writeLines(file: string, rows: readonly unknown[]): string {
  writeFileSync(file, rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n");
  return file;
}

let dir: string;
let files: { kto: string; dpo: string; dpoConversational: string; config: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seapo-export-"));
  files = {
    kto: writeLines(
      join(dir, "kto.jsonl"),
      records.flatMap((r) => toKtoRows(r, { includeDesirable: true })),
    ),
    dpo: writeLines(join(dir, "dpo.jsonl"), records.map(toDpoRow)),
    dpoConversational: writeLines(join(dir, "dpo_conversational.jsonl"), records.map(toDpoConversationalRow)),
    // A `seapo train --config` file, not the defaults, so a value that is not carried over shows.
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
});

const defaults: Omit<RecipeOptions, "target"> = { gpus: 8, zero: "3", trlFormat: "conversational" };

async function exported(
  overrides: Record<string, unknown>,
  options: Partial<RecipeOptions> & Pick<RecipeOptions, "target">,
  configFile?: string,
) {
  const out = await mkdtemp(join(tmpdir(), `seapo-export-${options.target}-`));
  const config = await loadTrainConfig(configFile, {
    model: "Qwen/Qwen2.5-7B-Instruct",
    data: files.kto,
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
function readmeCommands(text: string): string[] {
  const launch = text.slice(text.indexOf("## Launch"), text.indexOf("## Notes"));
  return [...launch.matchAll(/```bash\n([^`]+)```/g)].map((m) => m[1]!.trim());
}

const hasPyYaml = (() => {
  try {
    execFileSync("python3", ["-c", "import yaml"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

// ---------------------------------------------------------------------------------------------

describe("seapo export --to llamafactory", () => {
  it("writes KTO rows that match their dataset_info entry, the same rows the data engine writes", async () => {
    const { out, json, summary } = await exported({}, { target: "llamafactory" }, files.config);
    const info = z.record(z.string(), datasetInfoEntry).parse(json(RECIPE_FILES.datasetInfo));
    expect(Object.keys(info)).toEqual(["seapo_kto"]);
    const entry = info.seapo_kto!;
    expect(entry.columns?.kto_tag).toBe("label");
    const rows = readJsonl(join(out, RECIPE_FILES.dataDir, entry.file_name));
    expect(rows).toHaveLength(6);
    for (const row of rows) checkLlamaFactoryRow(entry, row);
    expect(summary.rows).toBe(6);
    // kto.jsonl holds the last user turn only, so compare with the engine's rows of records without history.
    const engine = records
      .slice(0, 2)
      .flatMap((r) => toLlamaFactoryKtoRows(r, { includeDesirable: true }))
      .map(({ seapo: _, ...row }) => row);
    expect(rows.slice(0, 4)).toEqual(engine);
  });

  it("writes DPO pairs (ranking) with the history of conversational rows", async () => {
    const { json, out } = await exported(
      { data: files.dpoConversational, loss: "sigmoid" },
      { target: "llamafactory" },
    );
    const info = z.record(z.string(), datasetInfoEntry).parse(json(RECIPE_FILES.datasetInfo));
    const entry = info.seapo_dpo!;
    expect(entry.ranking).toBe(true);
    const rows = readJsonl(join(out, RECIPE_FILES.dataDir, entry.file_name));
    for (const row of rows) checkLlamaFactoryRow(entry, row);
    expect(rows).toEqual(records.map(toLlamaFactoryDpoRow).map(({ seapo: _, ...row }) => row));
  });

  it("carries every hyperparameter of the seapo train config (YAML file and flags)", async () => {
    const { yaml, config } = await exported({ lr: 3e-6 }, { target: "llamafactory" }, files.config);
    const train = llamaFactoryYaml.parse(yaml(RECIPE_FILES.llamaFactoryConfig));
    expect(config.lr).toBe(3e-6); // the flag beat the file
    expect(train).toMatchObject({
      model_name_or_path: config.model,
      stage: "kto",
      finetuning_type: "lora",
      lora_rank: config.lora.rank,
      lora_alpha: config.lora.alpha,
      lora_dropout: config.lora.dropout,
      lora_target: config.lora.targets.join(","),
      pref_beta: config.beta,
      kto_chosen_weight: 1.33,
      kto_rejected_weight: 1,
      learning_rate: config.lr,
      lr_scheduler_type: config.schedule,
      warmup_ratio: config.warmupRatio,
      num_train_epochs: config.epochs,
      per_device_train_batch_size: config.batchSize,
      gradient_accumulation_steps: config.gradAccum,
      cutoff_len: config.maxLength,
      max_grad_norm: config.maxGradNorm,
      weight_decay: config.weightDecay,
      seed: config.seed,
      logging_steps: config.logEvery,
      save_steps: config.saveEvery,
      save_total_limit: config.keepCheckpoints,
      bf16: true,
      template: "qwen",
      deepspeed: "ds_z3_config.json",
    });
    expect(train.pref_loss).toBeUndefined();
  });

  it.each([
    ["sigmoid", {}, { pref_loss: "sigmoid" }],
    [
      "cdpo:1,sft:0.1",
      { cdpo: { label_smoothing: 0.1 } },
      { pref_loss: "sigmoid", dpo_label_smoothing: 0.1, pref_ftx: 0.1 },
    ],
    ["hinge", {}, { pref_loss: "hinge" }],
    ["ipo", {}, { pref_loss: "ipo" }],
    ["orpo_llamafactory", {}, { pref_loss: "orpo" }],
    ["simpo", { simpo: { simpo_gamma: 1.2 } }, { pref_loss: "simpo", simpo_gamma: 1.2 }],
  ] as const)("--loss %s becomes stage dpo with LLaMA-Factory's pref_loss", async (loss, lossParams, expected) => {
    const { yaml } = await exported({ data: files.dpo, loss, lossParams, beta: 0.3 }, { target: "llamafactory" });
    const train = llamaFactoryYaml.parse(yaml(RECIPE_FILES.llamaFactoryConfig));
    expect(train).toMatchObject({ stage: "dpo", pref_beta: 0.3, ...expected });
  });

  it.each([
    [
      "robust",
      /--loss robust: LLaMA-Factory has no such loss; it supports kto, dpo_sigmoid, cdpo, hinge, ipo, orpo_llamafactory, simpo, plus sft:w/,
    ],
    ["orpo", /--loss orpo: LLaMA-Factory has no such loss.*LLaMA-Factory's ORPO is our orpo_llamafactory/],
    ["sigmoid,hinge", /LLaMA-Factory trains one preference loss/],
    ["sigmoid:0.5", /LLaMA-Factory weights its preference loss 1/],
  ])("an unsupported --loss %s is a clear error naming what is supported", async (loss, message) => {
    await expect(exported({ data: files.dpo, loss }, { target: "llamafactory" })).rejects.toThrow(message);
  });

  it("refuses a loss parameter LLaMA-Factory cannot express", async () => {
    await expect(
      exported(
        { data: files.dpo, loss: "simpo", lossParams: { simpo: { cpo_alpha: 0.5 } } },
        { target: "llamafactory" },
      ),
    ).rejects.toThrow(/--loss simpo: LLaMA-Factory has no setting for cpo_alpha \(0.5\); leave it at the default 0/);
  });

  it("writes a ZeRO config with auto values, and the README's command names the written files", async () => {
    for (const zero of ["2", "3"] as const) {
      const { json, read, out, summary } = await exported({}, { target: "llamafactory", zero, gpus: 4 });
      const ds = deepSpeedJson.parse(json(`ds_z${zero}_config.json`));
      expect(ds.zero_optimization.stage).toBe(Number(zero));
      const [command] = readmeCommands(read(RECIPE_FILES.readme));
      expect(command).toBe(summary.command);
      expect(command).toBe("FORCE_TORCHRUN=1 NPROC_PER_NODE=4 llamafactory-cli train train.yaml");
      for (const path of command!.split(/\s+/).filter((t) => /\.(ya?ml|json)$/.test(t)))
        expect(existsSync(join(out, path)), path).toBe(true);
      const train = llamaFactoryYaml.parse(parseYaml(read(RECIPE_FILES.llamaFactoryConfig), { version: "1.1" }));
      expect(existsSync(join(out, train.deepspeed!))).toBe(true);
      expect(existsSync(join(out, train.dataset_dir, "dataset_info.json"))).toBe(true);
    }
    const { out, summary } = await exported({}, { target: "llamafactory", zero: "none", gpus: 1 });
    expect(summary.command).toBe("llamafactory-cli train train.yaml");
    expect(existsSync(join(out, "ds_z3_config.json"))).toBe(false);
  });

  it("needs --template for a model name it cannot place", async () => {
    await expect(exported({ model: "/models/my-own" }, { target: "llamafactory" })).rejects.toThrow(
      /--template: cannot tell LLaMA-Factory's chat template for "\/models\/my-own"/,
    );
    const { yaml } = await exported({ model: "/models/my-own" }, { target: "llamafactory", template: "qwen3_nothink" });
    expect(yaml(RECIPE_FILES.llamaFactoryConfig).template).toBe("qwen3_nothink");
  });

  it("writes the eval file as its own dataset", async () => {
    const { json, yaml } = await exported({ evalData: files.kto, evalEvery: 50 }, { target: "llamafactory" });
    expect(Object.keys(z.record(z.string(), datasetInfoEntry).parse(json(RECIPE_FILES.datasetInfo)))).toEqual([
      "seapo_kto",
      "seapo_eval_kto",
    ]);
    expect(llamaFactoryYaml.parse(yaml(RECIPE_FILES.llamaFactoryConfig))).toMatchObject({
      eval_dataset: "seapo_eval_kto",
      eval_strategy: "steps",
      eval_steps: 50,
    });
  });
});

describe("seapo export --to trl", () => {
  const trlKeys = {
    dpo: new Set([...TRAINING_ARGUMENTS, ...TRL_MODEL_CONFIG, ...TRL_SCRIPT_ARGUMENTS, ...TRL_DPO_CONFIG]),
    kto: new Set([...TRAINING_ARGUMENTS, ...TRL_MODEL_CONFIG, ...TRL_SCRIPT_ARGUMENTS, ...TRL_KTO_CONFIG]),
  };

  it("writes KTO for `trl kto`: unpaired rows, real KTOConfig keys, the seapo train hyperparameters", async () => {
    const { yaml, read, out, config, summary } = await exported({}, { target: "trl" }, files.config);
    const raw = yaml(RECIPE_FILES.trlConfig);
    for (const key of Object.keys(raw)) expect(trlKeys.kto.has(key), key).toBe(true);
    const trl = trlYaml.parse(raw);
    expect(trl).toMatchObject({
      model_name_or_path: config.model,
      use_peft: true,
      lora_r: config.lora.rank,
      lora_alpha: config.lora.alpha,
      lora_dropout: config.lora.dropout,
      lora_target_modules: config.lora.targets,
      beta: config.beta,
      loss_type: "kto",
      desirable_weight: 1.33,
      undesirable_weight: 1,
      max_length: config.maxLength,
      learning_rate: config.lr,
      lr_scheduler_type: config.schedule,
      warmup_ratio: config.warmupRatio,
      num_train_epochs: config.epochs,
      per_device_train_batch_size: config.batchSize,
      gradient_accumulation_steps: config.gradAccum,
      seed: config.seed,
    });
    const rows = readJsonl(join(out, trl.dataset_name, `${trl.dataset_train_split}.jsonl`));
    expect(rows).toHaveLength(6);
    for (const row of rows) trlRow.conversational.unpaired.parse(row);
    // TRL's KTO trainer would read a null prompt cap as 128 tokens: its defaults stay.
    expect(trl.max_prompt_length).toBeUndefined();
    expect(trl.truncation_mode).toBeUndefined();
    expect(summary.command).toBe("trl kto --config trl.yaml --accelerate_config accelerate.yaml");
    const commands = readmeCommands(read(RECIPE_FILES.readme));
    expect(commands).toEqual([
      summary.command,
      "accelerate launch --config_file accelerate.yaml -m trl.scripts.kto --config trl.yaml",
    ]);
    for (const path of commands
      .join(" ")
      .split(/\s+/)
      .filter((t) => /\.(ya?ml|json)$/.test(t)))
      expect(existsSync(join(out, path)), path).toBe(true);
  });

  it("writes DPO pairs for `trl dpo`, weighted terms as a loss_type list", async () => {
    const { yaml, out, summary } = await exported(
      { data: files.dpoConversational, loss: "sigmoid:1,sft:0.2", minLrRatio: 0.1 },
      { target: "trl" },
    );
    const raw = yaml(RECIPE_FILES.trlConfig);
    for (const key of Object.keys(raw)) expect(trlKeys.dpo.has(key), key).toBe(true);
    const trl = trlYaml.parse(raw);
    expect(trl).toMatchObject({
      loss_type: ["sigmoid", "sft"],
      loss_weights: [1, 0.2],
      lr_scheduler_type: "cosine_with_min_lr",
      lr_scheduler_kwargs: { min_lr_rate: 0.1 },
      max_prompt_length: null,
      truncation_mode: "keep_start",
    });
    for (const type of [trl.loss_type].flat()) expect(TRL_DPO_LOSS_TYPES).toContain(type);
    const rows = readJsonl(join(out, RECIPE_FILES.trlTrain));
    for (const row of rows) trlRow.conversational.paired.parse(row);
    expect(rows[2]!.prompt).toEqual([...records[2]!.history, { role: "user", content: "And in French?" }]);
    expect(summary.command).toBe("trl dpo --config trl.yaml --accelerate_config accelerate.yaml");
  });

  it.each([
    ["cdpo", { cdpo: { label_smoothing: 0.1 } }, { loss_type: "sigmoid", label_smoothing: 0.1 }],
    ["robust", { robust: { label_smoothing: 0.2 } }, { loss_type: "robust", label_smoothing: 0.2 }],
    ["discopop", {}, { loss_type: "discopop", discopop_tau: 0.05 }],
    ["apo_zero", {}, { loss_type: "apo_zero" }],
  ] as const)("--loss %s maps to TRL's DPO loss_type", async (loss, lossParams, expected) => {
    const { yaml } = await exported({ data: files.dpo, loss, lossParams }, { target: "trl" });
    expect(yaml(RECIPE_FILES.trlConfig)).toMatchObject(expected);
  });

  it("standard (plain-text) rows, and a clear error when a prompt has a history", async () => {
    const { out } = await exported({ data: files.dpo, loss: "sigmoid" }, { target: "trl", trlFormat: "standard" });
    expect(readJsonl(join(out, RECIPE_FILES.trlTrain))).toEqual(
      records.map(toDpoRow).map(({ seapo: _, ...row }) => row),
    );
    for (const row of readJsonl(join(out, RECIPE_FILES.trlTrain))) trlRow.standard.paired.parse(row);
    await expect(
      exported({ data: files.dpoConversational, loss: "sigmoid" }, { target: "trl", trlFormat: "standard" }),
    ).rejects.toThrow(/dpo_conversational\.jsonl:3:prompt: a standard .* use --trl-format conversational/s);
  });

  it.each([
    ["simpo", /--loss simpo: TRL's DPO trainer has no such loss.*CPOTrainer/],
    ["fdpo", /--loss fdpo: TRL's DPO trainer has no such loss; it supports dpo_sigmoid, cdpo, robust/],
  ])("refuses --loss %s, which `trl` cannot run", async (loss, message) => {
    await expect(
      exported({ data: files.dpo, loss, lossParams: loss === "fdpo" ? { fdpo: { delta: 1 } } : {} }, { target: "trl" }),
    ).rejects.toThrow(message);
  });

  it("an accelerate config for DeepSpeed through the JSON file, or plain multi-GPU", async () => {
    const { yaml, json } = await exported({}, { target: "trl", zero: "2", gpus: 4 });
    const accel = accelerateYaml.parse(yaml(RECIPE_FILES.accelerateConfig));
    expect(accel).toMatchObject({
      distributed_type: "DEEPSPEED",
      num_processes: 4,
      deepspeed_config: { deepspeed_config_file: "ds_z2_config.json", zero3_init_flag: false },
    });
    expect(accel.mixed_precision).toBeUndefined();
    deepSpeedJson.parse(json("ds_z2_config.json"));
    const plain = await exported({}, { target: "trl", zero: "none", gpus: 2 });
    expect(accelerateYaml.parse(plain.yaml(RECIPE_FILES.accelerateConfig))).toMatchObject({
      distributed_type: "MULTI_GPU",
      num_processes: 2,
      mixed_precision: "no",
    });
  });
});

describe("the YAML reads the same in PyYAML, which both engines use", () => {
  it("writes exponent floats with a dot and a signed exponent, and quotes YAML 1.1 booleans", async () => {
    const { read } = await exported({ lr: 1e-7 }, { target: "trl", zero: "none" });
    expect(read(RECIPE_FILES.trlConfig)).toContain("learning_rate: 1.0e-7\n");
    expect(read(RECIPE_FILES.accelerateConfig)).toContain('downcast_bf16: "no"\n');
  });

  it.skipIf(!hasPyYaml)("PyYAML parses every written YAML file to the same values", async () => {
    for (const target of ["llamafactory", "trl"] as const) {
      const { out, yaml } = await exported({ lr: 1e-7 }, { target, zero: "none" });
      for (const file of target === "trl"
        ? [RECIPE_FILES.trlConfig, RECIPE_FILES.accelerateConfig]
        : [RECIPE_FILES.llamaFactoryConfig]) {
        const python = execFileSync(
          "python3",
          ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", join(out, file)],
          { encoding: "utf8" },
        );
        expect(JSON.parse(python), file).toEqual(yaml(file));
      }
    }
  });
});

describe("bad input", () => {
  let bad: string;
  beforeAll(() => {
    bad = writeLines(join(dir, "bad-kto.jsonl"), [
      { prompt: "What is 7 + 5?", completion: "12.", label: true },
      { prompt: "What is 7 + 5?", label: false },
      { prompt: "What is 7 + 5?", completion: "13.", label: "yes" },
      { prompt: "What is 7 + 5?", completion: "13.", label: false },
    ]);
  });

  it.each([
    ["a row without completion", 2, "completion", "is missing"],
    ["a label that is not a boolean", 3, "label", 'must be true or false, got "yes"'],
  ])("%s names the file, line and field", async (_, line, field, problem) => {
    const rows = readFileSync(bad, "utf8").split("\n");
    const only = writeLines(join(dir, `bad-${field}.jsonl`), [rows[0]!, ...(line === 2 ? [rows[1]!] : [rows[2]!])]);
    const error = await exported({ data: only }, { target: "llamafactory" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`${only}:2:${field}: ${problem}`);
  });

  it("--skip-invalid drops the same rows seapo train would and lists them in rejects.jsonl", async () => {
    const { out, summary } = await exported({ data: bad, skipInvalid: true }, { target: "trl" });
    expect(summary).toMatchObject({ rows: 2, rejects: 2 });
    expect(readJsonl(join(out, "rejects.jsonl")).map((r) => [r.line, r.field])).toEqual([
      [2, "completion"],
      [3, "label"],
    ]);
  });

  it("a paired loss on unpaired rows is refused as the trainer refuses it", async () => {
    await expect(exported({ loss: "sigmoid" }, { target: "trl" })).rejects.toThrow(
      /needs chosen\/rejected pairs, but the file holds unpaired/,
    );
  });

  it("a schedule transformers cannot express is refused", async () => {
    await expect(exported({ schedule: "linear", minLrRatio: 0.1 }, { target: "trl" })).rejects.toThrow(
      /--schedule linear --min-lr-ratio 0.1: transformers' linear schedule always ends at 0/,
    );
  });
});

describe("the CLI", () => {
  it("takes seapo train's --config and flags, writes the recipe and prints the launch command", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-"));
    const result = await runCli([
      "export",
      "--to",
      "llamafactory",
      "--config",
      files.config,
      "--data",
      files.kto,
      "--out",
      out,
      "--lr",
      "3e-6",
      "--gpus",
      "2",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `launch (in ${out}): FORCE_TORCHRUN=1 NPROC_PER_NODE=2 llamafactory-cli train train.yaml`,
    );
    const fromCli = llamaFactoryYaml.parse(
      parseYaml(readFileSync(join(out, RECIPE_FILES.llamaFactoryConfig), "utf8"), { version: "1.1" }),
    );
    const { yaml } = await exported({ lr: 3e-6 }, { target: "llamafactory", gpus: 2 }, files.config);
    expect(fromCli).toEqual(yaml(RECIPE_FILES.llamaFactoryConfig));
  });

  it("exits 1 with file:line:field for a bad row", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-bad-"));
    const bad = writeLines(join(dir, "cli-bad.jsonl"), [{ prompt: "Hi", completion: "Hello.", label: 1 }]);
    const result = await runCli([
      "export",
      "--to",
      "trl",
      "--model",
      "Qwen/Qwen2.5-0.5B-Instruct",
      "--data",
      bad,
      "--out",
      out,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`seapo: ${bad}:1:label: must be true or false, got 1`);
  });

  it("exits 1 naming the supported losses for one LLaMA-Factory lacks", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-loss-"));
    const result = await runCli([
      "export",
      "--to",
      "llamafactory",
      "--model",
      "Qwen/Qwen2.5-0.5B-Instruct",
      "--data",
      files.dpo,
      "--out",
      out,
      "--loss",
      "nca_pair",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "seapo: --loss nca_pair: LLaMA-Factory has no such loss; it supports kto, dpo_sigmoid, cdpo, hinge, ipo, orpo_llamafactory, simpo",
    );
  });
});
