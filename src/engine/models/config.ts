/**
 * The model configuration the engine runs: a decoder-only Llama or Qwen2, in the engine's own field
 * names. `src/engine/io` parses a Hugging Face config.json into this.
 */
export interface ModelConfig {
  architecture: "llama" | "qwen2";
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); equals numHeads for plain multi-head attention. */
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** lm_head shares the embedding matrix (no `lm_head.weight` tensor). */
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (Qwen2). */
  attentionBias: boolean;
  maxPositionEmbeddings: number;
  bosTokenId?: number;
  /** Hugging Face allows several end-of-sequence ids (Llama 3 lists three). */
  eosTokenId?: number | number[];
}

/** Throws naming the field when a config cannot describe a working model. */
export function checkModelConfig(config: ModelConfig): void {
  const positive: (keyof ModelConfig)[] = [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "numLayers",
    "numHeads",
    "numKvHeads",
    "headDim",
    "maxPositionEmbeddings",
  ];
  for (const field of positive) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new Error(`model config: ${field} must be a positive integer, got ${String(value)}`);
    }
  }
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new Error(
      `model config: numHeads (${config.numHeads}) must be a multiple of numKvHeads (${config.numKvHeads})`,
    );
  }
  if (config.headDim % 2 !== 0)
    throw new Error(`model config: headDim (${config.headDim}) must be even for rotary embeddings`);
  if (!(config.ropeTheta > 0)) throw new Error(`model config: ropeTheta must be positive, got ${config.ropeTheta}`);
  if (!(config.rmsNormEps > 0)) throw new Error(`model config: rmsNormEps must be positive, got ${config.rmsNormEps}`);
}

/** The end-of-sequence ids as a list (empty when the config names none). */
export function eosTokenIds(config: ModelConfig): number[] {
  const eos = config.eosTokenId;
  if (eos === undefined) return [];
  return Array.isArray(eos) ? [...eos] : [eos];
}

/** Tensors by Hugging Face name, as `src/engine/io` reads them from safetensors. */
export type WeightMap = Map<string, { shape: readonly number[]; data: Float32Array }>;
