import type { ModelConfig, WeightMap } from "../models/config.js";
import { expectedShapes } from "../models/llama.js";
import { Rng } from "../random.js";
import { buildByteLevelBpeTokenizer, type ByteLevelBpe } from "./bpe.js";
import { saveHfModel } from "./hf-model.js";
import type { WriteDtype } from "./safetensors.js";

/**
 * Randomly initialised models with a freshly learned byte-level BPE tokenizer, written as a Hugging
 * Face folder (`seapo model init`).
 *
 * Presets (vocabSize is the tokenizer target; the config gets the tokenizer's actual size, which is
 * smaller only when the corpus runs out of pairs — the built-in corpus fills both presets):
 *   tiny:  hidden 64,  2 layers, 4 heads (head_dim 16), 2 kv heads, intermediate 128, vocab 512,  context 512   (~0.1M params)
 *   small: hidden 256, 4 layers, 8 heads (head_dim 32), 4 kv heads, intermediate 688, vocab 2048, context 2048  (~4M params)
 * Per architecture, following the families' own small models:
 *   llama: rope_theta 1e4, rms_norm_eps 1e-5, separate lm_head, no biases, BOS (<|endoftext|>) added when encoding.
 *   qwen2: rope_theta 1e6, rms_norm_eps 1e-6, tied embeddings, q/k/v biases, no BOS (Qwen style).
 */

export const MODEL_PRESETS = {
  tiny: {
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    intermediateSize: 128,
    vocabSize: 512,
    maxPositionEmbeddings: 512,
  },
  small: {
    hiddenSize: 256,
    numLayers: 4,
    numHeads: 8,
    numKvHeads: 4,
    intermediateSize: 688,
    vocabSize: 2048,
    maxPositionEmbeddings: 2048,
  },
} as const satisfies Record<
  string,
  Pick<
    ModelConfig,
    "hiddenSize" | "numLayers" | "numHeads" | "numKvHeads" | "intermediateSize" | "vocabSize" | "maxPositionEmbeddings"
  >
>;
export type PresetName = keyof typeof MODEL_PRESETS;
export const PRESET_NAMES = Object.keys(MODEL_PRESETS) as PresetName[];

const ARCHITECTURE_SETTINGS = {
  llama: { ropeTheta: 10000, rmsNormEps: 1e-5, tieWordEmbeddings: false, attentionBias: false, addBos: true },
  qwen2: { ropeTheta: 1_000_000, rmsNormEps: 1e-6, tieWordEmbeddings: true, attentionBias: true, addBos: false },
} as const satisfies Record<
  ModelConfig["architecture"],
  Pick<ModelConfig, "ropeTheta" | "rmsNormEps" | "tieWordEmbeddings" | "attentionBias"> & { addBos: boolean }
>;
export const ARCHITECTURE_NAMES = Object.keys(ARCHITECTURE_SETTINGS) as ModelConfig["architecture"][];

/** Standard deviation of the normal init of every matrix (transformers' initializer_range). */
export const INIT_STD = 0.02;

export interface InitOptions {
  architecture: ModelConfig["architecture"];
  preset: PresetName;
  seed?: number;
  /** Text to learn the tokenizer's merges from (default: the built-in corpus). */
  corpus?: string;
  /** On-disk dtype of the weights (default F32). */
  dtype?: WriteDtype;
  /** Sizes that replace the preset's (e.g. the demo's base model). */
  sizes?: Partial<Record<keyof (typeof MODEL_PRESETS)["tiny"], number>>;
}

/** The config and tokenizer a preset describes (no weights yet). */
export function presetModel(options: InitOptions): { config: ModelConfig; tokenizer: ByteLevelBpe } {
  const preset = { ...MODEL_PRESETS[options.preset], ...options.sizes };
  const { addBos, ...arch } = ARCHITECTURE_SETTINGS[options.architecture];
  const tokenizer = buildByteLevelBpeTokenizer({
    corpus: options.corpus,
    vocabSize: preset.vocabSize,
    addBos,
    modelMaxLength: preset.maxPositionEmbeddings,
  });
  const config: ModelConfig = {
    architecture: options.architecture,
    ...preset,
    ...arch,
    vocabSize: tokenizer.vocabSize,
    headDim: preset.hiddenSize / preset.numHeads,
    bosTokenId: tokenizer.special.endOfText,
    eosTokenId: tokenizer.special.imEnd,
  };
  return { config, tokenizer };
}

/** Seeded weights: matrices and embeddings ~ N(0, std²) (std 0.02 by default), RMSNorm weights 1, biases 0. */
export function randomWeights(config: ModelConfig, seed = 0, std = INIT_STD): WeightMap {
  const rng = new Rng(seed);
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedShapes(config)) {
    const data = new Float32Array(shape.reduce((product, n) => product * n, 1));
    if (name.endsWith("norm.weight")) data.fill(1);
    else if (!name.endsWith(".bias")) for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    weights.set(name, { shape, data });
  }
  return weights;
}

/** Writes config.json, model.safetensors, tokenizer files and generation_config.json to `dir`. */
export async function initHfModel(
  dir: string,
  options: InitOptions,
): Promise<{ config: ModelConfig; files: string[] }> {
  const { config, tokenizer } = presetModel(options);
  const files = await saveHfModel(dir, {
    config,
    weights: randomWeights(config, options.seed ?? 0),
    tokenizer,
    dtype: options.dtype,
  });
  return { config, files };
}
