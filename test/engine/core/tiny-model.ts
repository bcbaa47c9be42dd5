/** A tiny random Llama/Qwen2 for tests, built from Hugging Face-named tensors. */
import { expectedShapes, LlamaModel } from "../../../src/engine/models/llama.js";
import type { ModelConfig, WeightMap } from "../../../src/engine/models/config.js";
import { Rng } from "../../../src/engine/random.js";

export function tinyConfig(architecture: "llama" | "qwen2"): ModelConfig {
  const qwen = architecture === "qwen2";
  return {
    architecture,
    vocabSize: 17,
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    ropeTheta: qwen ? 1_000_000 : 10_000,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: qwen,
    attentionBias: qwen,
    maxPositionEmbeddings: 64,
    eosTokenId: 2,
  };
}

/** Normal(0, std²) weights (norm weights around 1), keyed by Hugging Face name. */
export function randomWeights(config: ModelConfig, seed: number, std = 0.3): WeightMap {
  const rng = new Rng(seed);
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = name.endsWith("norm.weight");
    for (let i = 0; i < data.length; i++) data[i] = isNorm ? 1 + 0.1 * rng.normal() : std * rng.normal();
    weights.set(name, { shape, data });
  }
  return weights;
}

export function tinyModel(architecture: "llama" | "qwen2", seed = 1, trainable = false): LlamaModel {
  const config = tinyConfig(architecture);
  return LlamaModel.fromWeights(config, randomWeights(config, seed), { trainable });
}
