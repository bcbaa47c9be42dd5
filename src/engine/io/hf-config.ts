import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../../errors.js";
import { checkModelConfig, type ModelConfig } from "../models/config.js";

/**
 * Hugging Face config.json ⇄ ModelConfig for the two decoder architectures the engine runs.
 * Field names and defaults follow transformers' LlamaConfig and Qwen2Config; anything the engine
 * would silently compute differently (rope scaling, another activation, MLP biases, sliding-window
 * attention) is refused with the field named, rather than loaded wrong.
 */

export const CONFIG_FILE = "config.json";

type Architecture = ModelConfig["architecture"];

/** `architectures[0]` → engine architecture. */
export const HF_ARCHITECTURES = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
} as const satisfies Record<string, Architecture>;

const CLASS_OF: Record<Architecture, keyof typeof HF_ARCHITECTURES> = {
  llama: "LlamaForCausalLM",
  qwen2: "Qwen2ForCausalLM",
};

/** Per-architecture defaults, as in transformers' config classes. */
const DEFAULTS: Record<Architecture, { ropeTheta: number; rmsNormEps: number; maxPositionEmbeddings: number }> = {
  llama: { ropeTheta: 10000, rmsNormEps: 1e-6, maxPositionEmbeddings: 2048 },
  qwen2: { ropeTheta: 10000, rmsNormEps: 1e-6, maxPositionEmbeddings: 32768 },
};

/** Storage dtypes that config.json may name (`torch_dtype`, or `dtype` in transformers 5). */
export type TorchDtype = "float32" | "bfloat16" | "float16";

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();
const ropeSchema = z.looseObject({
  type: z.string().optional(),
  rope_type: z.string().optional(),
  rope_theta: z.number().positive().optional(),
});

const hfConfigSchema = z.looseObject({
  architectures: z.array(z.string()).min(1).optional(),
  model_type: z.string().optional(),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  rope_theta: z.number().positive().optional(),
  rope_scaling: ropeSchema.nullish(),
  rope_parameters: ropeSchema.nullish(),
  rms_norm_eps: z.number().positive().optional(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  hidden_act: z.string().optional(),
  max_position_embeddings: positiveInt.optional(),
  bos_token_id: tokenId.nullish(),
  eos_token_id: z.union([tokenId, z.array(tokenId).min(1)]).nullish(),
  use_sliding_window: z.boolean().optional(),
});

/** Parses an already-read config.json object; `file` names it in errors. */
export function parseHfConfig(raw: unknown, file: string = CONFIG_FILE): ModelConfig {
  const parsed = hfConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      file,
      undefined,
      issue?.path.join(".") || undefined,
      issue?.message ?? "invalid config",
      "a transformers LlamaForCausalLM or Qwen2ForCausalLM config.json",
    );
  }
  const c = parsed.data;
  const fail = (field: string, problem: string, hint?: string): never => {
    throw new InputError(file, undefined, field, problem, hint);
  };

  const architecture = architectureOf(c.architectures, c.model_type, fail);
  const defaults = DEFAULTS[architecture];

  // transformers 5 moved rope settings into rope_parameters; older files use rope_theta + rope_scaling.
  const ropeField = c.rope_parameters ? "rope_parameters" : "rope_scaling";
  const rope = c.rope_parameters ?? c.rope_scaling;
  const ropeType = rope?.rope_type ?? rope?.type ?? "default";
  if (ropeType !== "default") {
    fail(
      `${ropeField}.rope_type`,
      `rope scaling "${ropeType}" is not supported`,
      'the engine implements plain RoPE only (rope_type "default" or no rope_scaling)',
    );
  }
  if (c.hidden_act !== undefined && c.hidden_act !== "silu")
    fail("hidden_act", `activation "${c.hidden_act}" is not supported`, 'the engine\'s MLP uses "silu"');
  if (c.mlp_bias === true)
    fail("mlp_bias", "MLP biases are not supported", "the engine's MLP projections have no bias");
  if (c.use_sliding_window === true)
    fail(
      "use_sliding_window",
      "sliding-window attention is not supported",
      "set it to false: the engine attends to the whole context",
    );
  if (architecture === "qwen2" && c.attention_bias === false)
    fail("attention_bias", "Qwen2 always has q/k/v biases", "remove the field");

  const numHeads = c.num_attention_heads;
  const numKvHeads = c.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0)
    fail("num_key_value_heads", `${numKvHeads} does not divide num_attention_heads (${numHeads})`);
  let headDim = c.head_dim;
  if (headDim == null) {
    if (c.hidden_size % numHeads !== 0)
      fail(
        "head_dim",
        `missing, and hidden_size (${c.hidden_size}) is not a multiple of num_attention_heads (${numHeads})`,
      );
    headDim = c.hidden_size / numHeads;
  }
  if (headDim % 2 !== 0) fail("head_dim", `${headDim} must be even for rotary embeddings`);

  const config: ModelConfig = {
    architecture,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    ropeTheta: c.rope_parameters?.rope_theta ?? c.rope_theta ?? defaults.ropeTheta,
    rmsNormEps: c.rms_norm_eps ?? defaults.rmsNormEps,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    attentionBias: architecture === "qwen2" ? true : (c.attention_bias ?? false),
    maxPositionEmbeddings: c.max_position_embeddings ?? defaults.maxPositionEmbeddings,
  };
  if (c.bos_token_id != null) config.bosTokenId = c.bos_token_id;
  if (c.eos_token_id != null) config.eosTokenId = c.eos_token_id;
  if (c.bos_token_id != null && c.bos_token_id >= c.vocab_size)
    fail("bos_token_id", `${c.bos_token_id} is outside vocab_size ${c.vocab_size}`);
  for (const eos of [c.eos_token_id ?? []].flat())
    if (eos >= c.vocab_size) fail("eos_token_id", `${eos} is outside vocab_size ${c.vocab_size}`);
  return config;
}

function architectureOf(
  architectures: string[] | undefined,
  modelType: string | undefined,
  fail: (field: string, problem: string, hint?: string) => never,
): Architecture {
  const supported = Object.keys(HF_ARCHITECTURES).join(", ");
  let architecture: Architecture | undefined;
  if (architectures !== undefined) {
    const name = architectures[0]!;
    architecture = (HF_ARCHITECTURES as Record<string, Architecture>)[name];
    if (architecture === undefined)
      fail("architectures", `unsupported architecture "${name}"`, `the engine runs ${supported}`);
  }
  if (modelType !== undefined) {
    const fromType = modelType === "llama" || modelType === "qwen2" ? modelType : undefined;
    if (fromType === undefined)
      fail("model_type", `unsupported model_type "${modelType}"`, 'the engine runs "llama" and "qwen2"');
    if (architecture !== undefined && architecture !== fromType)
      fail("model_type", `"${modelType}" disagrees with architectures[0] (${CLASS_OF[architecture]})`);
    architecture = fromType;
  }
  if (architecture === undefined)
    return fail("architectures", "neither architectures nor model_type is given", `name one of ${supported}`);
  return architecture;
}

/** Reads `<dir>/config.json`. */
export async function readHfConfig(
  dir: string,
): Promise<{ config: ModelConfig; torchDtype: string | undefined; raw: Record<string, unknown> }> {
  const file = join(dir, CONFIG_FILE);
  const raw = await readJsonFile(file);
  const config = parseHfConfig(raw, file);
  const record = raw as Record<string, unknown>;
  const dtype = record.torch_dtype ?? record.dtype;
  return { config, torchDtype: typeof dtype === "string" ? dtype : undefined, raw: record };
}

/**
 * The config.json transformers writes for this model (LlamaConfig / Qwen2Config fields), so that
 * `AutoModelForCausalLM.from_pretrained(dir)` rebuilds the same network.
 */
export function hfConfigJson(config: ModelConfig, options: { torchDtype?: TorchDtype } = {}): Record<string, unknown> {
  checkModelConfig(config);
  const common = {
    architectures: [CLASS_OF[config.architecture]],
    model_type: config.architecture,
    attention_dropout: 0.0,
    bos_token_id: config.bosTokenId ?? null,
    eos_token_id: config.eosTokenId ?? null,
    hidden_act: "silu",
    hidden_size: config.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numLayers,
    num_key_value_heads: config.numKvHeads,
    rms_norm_eps: config.rmsNormEps,
    rope_scaling: null,
    rope_theta: config.ropeTheta,
    tie_word_embeddings: config.tieWordEmbeddings,
    torch_dtype: options.torchDtype ?? "float32",
    use_cache: true,
    vocab_size: config.vocabSize,
  };
  if (config.architecture === "llama") {
    return {
      ...common,
      attention_bias: config.attentionBias,
      head_dim: config.headDim,
      mlp_bias: false,
      pretraining_tp: 1,
    };
  }
  if (!config.attentionBias)
    throw new RangeError("hfConfigJson: a qwen2 config must have attentionBias true (Qwen2 always has q/k/v biases)");
  // Qwen2Config has no head_dim field of its own; transformers falls back to hidden/heads, so write it only when it differs.
  const headDim = config.headDim === config.hiddenSize / config.numHeads ? {} : { head_dim: config.headDim };
  return {
    ...common,
    ...headDim,
    max_window_layers: config.numLayers,
    sliding_window: null,
    use_sliding_window: false,
  };
}

export async function writeHfConfig(
  dir: string,
  config: ModelConfig,
  options: { torchDtype?: TorchDtype } = {},
): Promise<void> {
  await writeJsonFile(join(dir, CONFIG_FILE), hfConfigJson(config, options));
}

/** generation_config.json with the special ids transformers' generate() reads. */
export function generationConfigJson(config: ModelConfig, padTokenId?: number): Record<string, unknown> {
  return {
    bos_token_id: config.bosTokenId ?? null,
    eos_token_id: config.eosTokenId ?? null,
    ...(padTokenId === undefined ? {} : { pad_token_id: padTokenId }),
  };
}

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new InputError(file, undefined, undefined, "file not found");
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(file, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
}

export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
