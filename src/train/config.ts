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
import { InputError, SeapoError } from "../errors.js";
import { LOSSES, resolveLossName, type LossTerm } from "./losses/index.js";

export const SCHEDULES = ["cosine", "linear", "constant"] as const;
export const REFERENCE_MODES = ["adapter-disabled", "frozen-copy", "cached"] as const;
export const GGUF_TYPES = ["f32", "f16", "q8_0"] as const;

const positiveInt = z.number().int().positive();

export const trainConfigSchema = z.strictObject({
  model: z.string().min(1),
  data: z.string().min(1),
  out: z.string().min(1),
  /** Optional held-out rows in the same format, scored every evalEvery steps and at the end. */
  evalData: z.string().min(1).optional(),
  /** `kto`, or weighted terms such as `sigmoid:1,sft:0.1`. */
  loss: z.string().min(1).default("kto"),
  /** β of every loss that takes one. */
  beta: z.number().positive().default(0.1),
  /** Other loss parameters by loss name, e.g. {kto: {desirable_weight: 1.33}}. */
  lossParams: z.record(z.string(), z.record(z.string(), z.number())).default({}),
  finetuning: z.enum(["lora", "full"]).default("lora"),
  lora: z
    .strictObject({
      rank: positiveInt.default(8),
      alpha: z.number().positive().default(16),
      dropout: z.number().min(0).lt(1).default(0),
      targets: z
        .array(z.enum(LORA_TARGETS))
        .min(1)
        .default([...LORA_TARGETS]),
    })
    .prefault({}),
  lr: z.number().positive().default(5e-6),
  schedule: z.enum(SCHEDULES).default("cosine"),
  warmupSteps: z.number().int().min(0).default(0),
  /** Share of all steps used for warm-up when warmupSteps is 0. */
  warmupRatio: z.number().min(0).max(1).default(0),
  /** The schedule ends at lr · minLrRatio. */
  minLrRatio: z.number().min(0).max(1).default(0),
  weightDecay: z.number().min(0).default(0),
  /** Clip the global gradient norm to this; 0 turns clipping off. */
  maxGradNorm: z.number().min(0).default(1),
  epochs: positiveInt.default(3),
  /** Stop after this many optimizer steps (default: epochs × steps per epoch). */
  maxSteps: positiveInt.optional(),
  batchSize: positiveInt.default(2),
  gradAccum: positiveInt.default(8),
  maxLength: z.number().int().min(2).default(2048),
  lengthBucketing: z.boolean().default(true),
  seed: z.number().int().min(0).default(42),
  /** Default: adapter-disabled for LoRA, frozen-copy for full fine-tuning. */
  reference: z.enum(REFERENCE_MODES).optional(),
  /** Where `cached` reference log-probs live (default <out>/reference-cache). */
  referenceCache: z.string().min(1).optional(),
  logEvery: positiveInt.default(10),
  saveEvery: positiveInt.default(100),
  keepCheckpoints: positiveInt.default(2),
  evalEvery: positiveInt.optional(),
  skipInvalid: z.boolean().default(false),
  saveAdapter: z.boolean().default(true),
  saveMerged: z.boolean().default(true),
  gguf: z.enum(GGUF_TYPES).optional(),
  resume: z.boolean().default(false),
});

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** Parses and validates; `source` names the file (or "flags") in errors. */
export function parseTrainConfig(input: unknown, source = "config"): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      source,
      undefined,
      issue.path.join(".") || undefined,
      issue.message,
      "see `seapo train --help` for every option",
    );
  }
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
  parseLossSpec(config.loss, config);
  return config;
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
