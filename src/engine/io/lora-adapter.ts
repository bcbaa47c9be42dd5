import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../../errors.js";
import type { WeightMap } from "../models/config.js";
import { LORA_TARGETS, type LlamaModel, type LoraTarget } from "../models/llama.js";
import { readJsonFile, writeJsonFile } from "./hf-config.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

/**
 * LoRA adapters in PEFT's folder layout, so `PeftModel.from_pretrained(base, dir)` loads them:
 *   adapter_config.json        peft_type "LORA", task_type "CAUSAL_LM", r, lora_alpha, target_modules, …
 *   adapter_model.safetensors  base_model.model.<module path>.lora_A.weight  [r, in]
 *                              base_model.model.<module path>.lora_B.weight  [out, r]
 * e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight. PEFT strips the adapter name
 * (".default") when saving and adds it back when loading, so the file never holds it.
 *
 * The engine names adapter tensors without the "base_model.model." prefix (LlamaModel.adapterParameters);
 * saveLoraAdapter accepts either form and loadLoraAdapter returns the PEFT form (use fromPeftName).
 */

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";
const PEFT_PREFIX = "base_model.model.";
const TENSOR_NAME = /^base_model\.model\.(.+)\.lora_(A|B)\.weight$/;

export interface LoraAdapterConfig {
  /** The base model folder or hub id, written as base_model_name_or_path. */
  baseModelPath: string;
  rank: number;
  alpha: number;
  /** Module names (suffixes) the adapters wrap, e.g. ["q_proj", "v_proj"]. */
  targetModules: string[];
  dropout: number;
}

export interface LoraAdapter extends LoraAdapterConfig {
  /** By PEFT name. */
  weights: WeightMap;
}

export function toPeftName(name: string): string {
  return name.startsWith(PEFT_PREFIX) ? name : PEFT_PREFIX + name;
}

export function fromPeftName(name: string): string {
  return name.startsWith(PEFT_PREFIX) ? name.slice(PEFT_PREFIX.length) : name;
}

/** adapter_config.json with the fields PEFT's LoraConfig has had since 0.7 (no newer-only keys older PEFTs reject). */
export function adapterConfigJson(config: LoraAdapterConfig): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: config.baseModelPath,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.alpha,
    lora_dropout: config.dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: config.rank,
    rank_pattern: {},
    revision: null,
    target_modules: [...config.targetModules],
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
}

/**
 * Checks the adapter tensors: PEFT names, both A and B for every module, A [r, in] and B [out, r],
 * and every module's last name part among targetModules. `source` names the file in errors.
 */
function checkAdapterTensors(config: LoraAdapterConfig, weights: WeightMap, source: string): void {
  const modules = new Map<string, { A?: readonly number[]; B?: readonly number[] }>();
  for (const [name, { shape }] of weights) {
    const match = TENSOR_NAME.exec(name);
    if (!match)
      throw new InputError(
        source,
        undefined,
        name,
        "not a LoRA tensor name",
        "expected base_model.model.<module>.lora_A.weight or .lora_B.weight",
      );
    const [, module, part] = match as unknown as [string, string, "A" | "B"];
    const leaf = module.slice(module.lastIndexOf(".") + 1);
    if (!config.targetModules.includes(leaf))
      throw new InputError(
        source,
        undefined,
        name,
        `module "${leaf}" is not in target_modules [${config.targetModules.join(", ")}]`,
      );
    if (shape.length !== 2)
      throw new InputError(source, undefined, name, `expected a matrix, got shape [${shape.join(", ")}]`);
    const rankDim = part === "A" ? shape[0] : shape[1];
    if (rankDim !== config.rank)
      throw new InputError(
        source,
        undefined,
        name,
        `shape [${shape.join(", ")}] does not have rank r = ${config.rank} ${part === "A" ? "rows" : "columns"}`,
      );
    modules.set(module, { ...modules.get(module), [part]: shape });
  }
  if (modules.size === 0) throw new InputError(source, undefined, undefined, "the adapter has no tensors");
  for (const [module, { A, B }] of modules) {
    if (!A || !B)
      throw new InputError(
        source,
        undefined,
        `${PEFT_PREFIX}${module}`,
        `has lora_${A ? "A" : "B"} but no lora_${A ? "B" : "A"}`,
      );
  }
}

/** Writes adapter_config.json and adapter_model.safetensors (F32) to `dir`. */
export async function saveLoraAdapter(dir: string, adapter: LoraAdapter): Promise<void> {
  const weights: WeightMap = new Map([...adapter.weights].map(([name, tensor]) => [toPeftName(name), tensor]));
  const config: LoraAdapterConfig = {
    baseModelPath: adapter.baseModelPath,
    rank: adapter.rank,
    alpha: adapter.alpha,
    targetModules: [...adapter.targetModules],
    dropout: adapter.dropout,
  };
  if (!(Number.isInteger(config.rank) && config.rank > 0))
    throw new RangeError(`saveLoraAdapter: rank must be a positive integer, got ${config.rank}`);
  checkAdapterTensors(config, weights, "saveLoraAdapter");
  await mkdir(dir, { recursive: true });
  await writeJsonFile(join(dir, ADAPTER_CONFIG_FILE), adapterConfigJson(config));
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), weights);
}

const adapterConfigSchema = z.looseObject({
  peft_type: z.literal("LORA"),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  target_modules: z.array(z.string()).min(1),
  lora_dropout: z.number().min(0).max(1).default(0),
  base_model_name_or_path: z.string().nullish(),
  bias: z.literal("none").default("none"),
  fan_in_fan_out: z.literal(false).default(false),
  use_dora: z.literal(false).default(false),
  use_rslora: z.literal(false).default(false),
  modules_to_save: z.null().optional(),
});

const HINTS: Record<string, string> = {
  target_modules: "a list of module names; a regular-expression string is not supported",
  bias: 'the engine trains adapters without bias terms ("none")',
  use_dora: "DoRA adapters are not supported",
  use_rslora: "rank-stabilised scaling (alpha/sqrt(r)) is not supported",
  fan_in_fan_out: "only nn.Linear-style [out, in] weights are supported",
  modules_to_save: "adapters that also save full modules are not supported",
};

/** Reads a PEFT LoRA folder; refuses settings the engine would apply differently (DoRA, rsLoRA, biases, …). */
export async function loadLoraAdapter(dir: string): Promise<LoraAdapter> {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const parsed = adapterConfigSchema.safeParse(await readJsonFile(configPath));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") ?? "";
    throw new InputError(
      configPath,
      undefined,
      field || undefined,
      issue?.message ?? "invalid adapter config",
      HINTS[field],
    );
  }
  const raw = parsed.data;
  const config: LoraAdapterConfig = {
    baseModelPath: raw.base_model_name_or_path ?? "",
    rank: raw.r,
    alpha: raw.lora_alpha,
    targetModules: raw.target_modules,
    dropout: raw.lora_dropout,
  };
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(weightsPath))
    throw new InputError(
      weightsPath,
      undefined,
      undefined,
      "file not found",
      "seapo reads safetensors adapters only (not adapter_model.bin)",
    );
  const { weights } = await readSafetensors(weightsPath);
  checkAdapterTensors(config, weights, weightsPath);
  return { ...config, weights };
}

/** Wraps the adapter's target layers of `model`, loads its A/B weights and folds them into the base (no cost per token). */
export async function mergeLoraAdapter(model: LlamaModel, dir: string): Promise<void> {
  const adapter = await loadLoraAdapter(dir);
  const unknown = adapter.targetModules.filter((name) => !(LORA_TARGETS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new InputError(
      join(dir, ADAPTER_CONFIG_FILE),
      undefined,
      "target_modules",
      `the engine cannot place adapters on ${unknown.join(", ")}`,
      `targets are ${LORA_TARGETS.join(", ")}`,
    );
  model.applyLora({ rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targetModules as LoraTarget[] });
  model.loadParameters(new Map([...adapter.weights].map(([name, tensor]) => [fromPeftName(name), tensor])));
  model.mergeLora();
}
