/**
 * The training configuration: one zod schema, parsed and validated once. A YAML file gives the
 * base values and command-line flags override them; defaults mirror the SeaPO paper's recipe
 * (KTO, LoRA r 8 / α 16 on every linear layer, β 0.1, lr 5e-6 cosine without warm-up, 3 epochs,
 * per-device batch 2 × accumulation 8, cut-off 2048).
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { LORA_TARGETS } from "../engine/index.js";
import { InputError, SeapoError, zodInputError } from "../errors.js";
import { LOSSES, lossRequirements, resolveLossName, type LossTerm } from "./losses/index.js";

export const SCHEDULES = ["cosine", "linear", "constant"] as const;
export const REFERENCE_MODES = ["adapter-disabled", "frozen-copy", "cached"] as const;
export const GGUF_TYPES = ["f32", "f16", "q8_0"] as const;

const positiveInt = z.number().int().positive();

/** A field's help line for `seapo train`/`seapo export` (see cli/schema-options.ts); `flag` where the name does not give it. */
const help = (description: string, flag?: string) => ({ description, ...(flag ? { flag } : {}) });

export const trainConfigSchema = z.strictObject({
  model: z
    .string()
    .min(1)
    .meta(help("Hugging Face model folder to train (required here or in --config)", "--model <dir>")),
  data: z
    .string()
    .min(1)
    .meta(
      help(
        "kto.jsonl, dpo.jsonl or dpo_multi.jsonl (listwise losses) written by seapo inject (required here or in --config)",
        "--data <file>",
      ),
    ),
  out: z.string().min(1).meta(help("output folder (required here or in --config)", "--out <dir>")),
  evalData: z
    .string()
    .min(1)
    .optional()
    .meta(
      help("held-out rows in the same format, scored every --eval-every steps and at the end", "--eval-data <file>"),
    ),
  loss: z
    .string()
    .min(1)
    .default("kto")
    .meta(help("a loss, or weighted terms such as sigmoid:1,sft:0.1", "--loss <spec>")),
  beta: z.number().positive().default(0.1).meta(help("beta of every loss that takes one")),
  ldAlpha: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .meta(
      help(
        "LD-DPO: weight of each answer's tokens past the shorter answer of its pair (DPO-family losses; 1 = plain DPO)",
        "--ld-alpha <a>",
      ),
    ),
  disableDropout: z
    .boolean()
    .default(true)
    .meta(help("train with dropout (LoRA dropout included) instead of switching it off as TRL does by default")),
  /** Other loss parameters by loss name, e.g. {kto: {desirable_weight: 1.33}}; config file only. */
  lossParams: z.record(z.string(), z.record(z.string(), z.number())).default({}),
  finetuning: z
    .enum(["lora", "full"])
    .default("lora")
    .meta(help("train LoRA adapters or every weight", "--finetuning <kind>")),
  lora: z
    .strictObject({
      rank: positiveInt.default(8).meta(help("LoRA rank r")),
      alpha: z.number().positive().default(16).meta(help("LoRA alpha; the update is scaled by alpha/r")),
      dropout: z
        .number()
        .min(0)
        .lt(1)
        .default(0)
        .meta(help("dropout on the adapters' input while training", "--lora-dropout <p>")),
      targets: z
        .array(z.enum(LORA_TARGETS))
        .min(1)
        .default([...LORA_TARGETS])
        .meta(help("comma-separated modules to wrap")),
    })
    .prefault({}),
  lr: z.number().positive().default(5e-6).meta(help("peak learning rate")),
  schedule: z.enum(SCHEDULES).default("cosine").meta(help("learning-rate schedule after warm-up", "--schedule <name>")),
  warmupSteps: z.number().int().min(0).default(0).meta(help("linear warm-up steps")),
  warmupRatio: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .meta(help("warm-up as a share of all steps, when --warmup-steps is 0", "--warmup-ratio <r>")),
  minLrRatio: z.number().min(0).max(1).default(0).meta(help("the schedule ends at lr x this", "--min-lr-ratio <r>")),
  weightDecay: z.number().min(0).default(0).meta(help("AdamW decoupled weight decay")),
  maxGradNorm: z.number().min(0).default(1).meta(help("clip the global gradient norm; 0 turns clipping off")),
  epochs: positiveInt.default(3).meta(help("passes over the data")),
  maxSteps: positiveInt.optional().meta(help("stop after this many optimizer steps (overrides --epochs)")),
  batchSize: positiveInt.default(2).meta(help("rows per micro-batch")),
  gradAccum: positiveInt.default(8).meta(help("micro-batches per optimizer step")),
  maxLength: z
    .number()
    .int()
    .min(2)
    .default(2048)
    .meta(help("cut-off in tokens; completions are cut keeping their start, prompts that do not fit are dropped")),
  lengthBucketing: z
    .boolean()
    .default(true)
    .meta(help("do not group rows of similar length into batches", "--no-bucketing")),
  seed: z.number().int().min(0).default(42).meta(help("seed of the data order, LoRA init and dropout")),
  reference: z
    .enum(REFERENCE_MODES)
    .optional()
    .meta(
      help(
        "reference log-probs (default adapter-disabled for LoRA, frozen-copy for full or with --ref-model/--ref-adapter)",
        "--reference <mode>",
      ),
    ),
  referenceCache: z
    .string()
    .min(1)
    .optional()
    .meta(help("folder for --reference cached (default <out>/reference-cache)", "--reference-cache <dir>")),
  refModel: z
    .string()
    .min(1)
    .optional()
    .meta(
      help(
        "reference model: another Hugging Face folder with the same tokenizer (an SFT checkpoint) instead of the base",
        "--ref-model <dir>",
      ),
    ),
  refAdapter: z
    .string()
    .min(1)
    .optional()
    .meta(
      help(
        "reference adapter: the base (or --ref-model) with this PEFT LoRA adapter merged in scores the reference",
        "--ref-adapter <dir>",
      ),
    ),
  logEvery: positiveInt.default(10).meta(help("optimizer steps between metrics lines")),
  saveEvery: positiveInt.default(100).meta(help("optimizer steps between checkpoints")),
  keepCheckpoints: positiveInt.default(2).meta(help("newest checkpoints kept")),
  evalEvery: positiveInt
    .optional()
    .meta(help("optimizer steps between evaluations on --eval-data (default: at the end only)")),
  skipInvalid: z
    .boolean()
    .default(false)
    .meta(help("count bad rows into <out>/rejects.jsonl instead of stopping at the first")),
  saveAdapter: z.boolean().default(true).meta(help("do not write adapter/ (LoRA)", "--no-adapter")),
  saveMerged: z.boolean().default(true).meta(help("do not write the merged model/ folder", "--no-merged")),
  gguf: z
    .enum(GGUF_TYPES)
    .optional()
    .meta(help("also write model.gguf with weight matrices of this type", "--gguf <type>")),
  resume: z.boolean().default(false).meta(help("continue from the newest checkpoint in --out")),
});

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** Parses and validates; `source` names the file (or "flags") in errors. */
export function parseTrainConfig(input: unknown, source = "config"): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input);
  if (!parsed.success)
    throw zodInputError(parsed.error, source, undefined, "see `seapo train --help` for every option");
  const config = parsed.data;
  if (config.finetuning === "full" && config.reference === "adapter-disabled") {
    throw new InputError(
      source,
      undefined,
      "reference",
      "adapter-disabled needs LoRA fine-tuning",
      "use frozen-copy or cached with --finetuning full",
    );
  }
  checkReference(config, source);
  checkLossSettings(config, source);
  return config;
}

/** The policy's own adapter-disabled base cannot be a reference from elsewhere. */
function checkReference(config: TrainConfig, source: string): void {
  if ((config.refModel ?? config.refAdapter) !== undefined && config.reference === "adapter-disabled")
    throw new InputError(
      source,
      undefined,
      "reference",
      "adapter-disabled scores with the base weights, not with --ref-model/--ref-adapter",
      "use --reference frozen-copy (the default with them) or cached",
    );
}

/** Settings that only some losses accept, checked against the loss spec (TRL refuses the same). */
function checkLossSettings(config: TrainConfig, source: string): void {
  const terms = parseLossSpec(config.loss, config);
  const needs = lossRequirements(terms);
  // TRL KTOTrainer.__init__ (v1.9.0, trl/trainer/kto_trainer.py): "Actual (not effective) batch size must be > 1".
  if (needs.kl && config.batchSize < 2)
    throw new InputError(
      source,
      undefined,
      "batchSize",
      `--loss ${config.loss} estimates KTO's KL reference point from the other rows of each micro-batch, so --batch-size must be 2 or more (got ${config.batchSize}); TRL's KTOTrainer refuses it too`,
      "raise --batch-size (and lower --grad-accum to keep the effective batch), or use apo_zero_unpaired, which has no KL term",
    );
  if (config.ldAlpha !== undefined) {
    // LD-DPO splits each answer at the shorter answer of its pair: a listwise row has no such pair.
    const other = terms.find(
      (t) =>
        !LOSSES[t.name].inputs.some((input) => input === "reference_chosen_logps") ||
        LOSSES[t.name].inputs.some((input) => input === "policy_rejected_list_logps"),
    );
    if (other !== undefined)
      throw new InputError(
        source,
        undefined,
        "ldAlpha",
        `--ld-alpha weights the log-probs of reference-based paired (DPO-family) losses; ${other.name} is not one`,
        "drop --ld-alpha, or train a DPO-family loss alone (TRL's DPOTrainer is where ld_alpha lives)",
      );
  }
}

/** Reads a YAML file (if given), lays the flags over it and validates the result. */
export async function loadTrainConfig(
  file: string | undefined,
  overrides: Record<string, unknown>,
): Promise<TrainConfig> {
  let base: Record<string, unknown> = {};
  if (file !== undefined) {
    let value: unknown;
    try {
      value = parseYaml(await readFile(file, "utf8"));
    } catch (error) {
      throw new InputError(file, undefined, undefined, `cannot read the YAML config: ${(error as Error).message}`);
    }
    if (value !== null && (typeof value !== "object" || Array.isArray(value)))
      throw new InputError(file, undefined, undefined, "expected a YAML mapping of options");
    base = (value ?? {}) as Record<string, unknown>;
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (key === "lora" && typeof value === "object" && value !== null)
      merged.lora = { ...(base.lora as object | undefined), ...value };
    else merged[key] = value;
  }
  return parseTrainConfig(merged, file ?? "flags");
}

/**
 * `kto` or `sigmoid:1,sft:0.1` → loss terms. β goes to every loss that has a beta parameter;
 * lossParams adds the rest by loss name.
 */
export function parseLossSpec(spec: string, config: Pick<TrainConfig, "beta" | "lossParams">): LossTerm[] {
  const terms = spec.split(",").map((part) => {
    const [rawName, rawWeight, extra] = part.trim().split(":");
    if (rawName === undefined || rawName === "" || extra !== undefined)
      throw new SeapoError(`--loss: cannot read "${part}"; write name or name:weight, comma-separated`);
    const name = resolveLossName(rawName);
    const weight = rawWeight === undefined ? 1 : Number(rawWeight);
    if (!Number.isFinite(weight))
      throw new SeapoError(`--loss: weight of ${rawName} must be a number, got "${rawWeight}"`);
    const params: Record<string, number> = {};
    if ("beta" in LOSSES[name].params) params.beta = config.beta;
    Object.assign(params, config.lossParams[rawName] ?? config.lossParams[name] ?? {});
    return { name, weight, params };
  });
  for (const key of Object.keys(config.lossParams)) {
    const known = terms.some((t) => t.name === key || spec.split(",").some((p) => p.trim().split(":")[0] === key));
    if (!known) throw new SeapoError(`lossParams.${key}: ${key} is not one of the losses in use (${spec})`);
  }
  return terms;
}
