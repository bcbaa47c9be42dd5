/**
 * The engine's public surface: tensors, ops, autograd, layers, the Llama model, generation and AdamW.
 * Hugging Face folders, tokenizers, LoRA adapters and GGUF export are in `io/index.ts`; the GGUF format
 * in `gguf/index.ts`; the native loader in `native/index.ts`. Other areas import from these indexes only.
 */
export { Tensor, tensor, scalar, zeros, ones, full, randn, uniform, noGrad, isGradEnabled } from "./tensor.js";
export * as ops from "./ops.js";
export { ShapeError, type OpName, type OpAttrs, type MatmulOptions } from "./ops.js";
export type { BinaryOp, ReduceOp, UnaryOp } from "./op-list.js";
export {
  KERNEL_NAMES,
  gemmDefaults,
  type GemmOptions,
  type KernelName,
  type Kernels,
  type RopeOptions,
} from "./kernels.js";
export { backend, setBackend, withBackend, type Backend, type BackendName, type GemmParams } from "./backend.js";
export { Rng } from "./random.js";
export { recycling, poolStats, type PoolStats, type RecyclingOptions } from "./pool.js";
export {
  attention,
  attentionBias,
  crossEntropy,
  dropout,
  pickLast,
  sequenceLogprobs,
  silu,
  tokenLogprobs,
  type Grid,
} from "./nn/functional.js";
export { Linear, Embedding, RMSNorm, type LinearLike } from "./nn/layers.js";
export { LoRALinear, type LoraOptions } from "./nn/lora.js";
export { checkModelConfig, eosTokenIds, type ModelConfig, type WeightMap } from "./models/config.js";
export {
  LlamaModel,
  KVCache,
  expectedShapes,
  LORA_TARGETS,
  type ForwardOptions,
  type ApplyLoraOptions,
  type LoraTarget,
} from "./models/llama.js";
export {
  generate,
  sampleToken,
  scoreContinuations,
  type GenerateOptions,
  type Generation,
  type SamplingOptions,
  type ContinuationRequest,
  type ContinuationScore,
} from "./models/generate.js";
export { lmHeadLogprobs, LM_HEAD_CHUNK_ELEMENTS, type LmHeadOptions, type LmHeadResult } from "./fused-lm-head.js";
export { scorePositions, outputWeight, type PositionScores, type ScorePositionsOptions } from "./models/scoring.js";
export { AdamW, clipGradNorm, type AdamWOptions, type AdamWState } from "./optim.js";
export * from "./io/index.js";
export * from "./gguf/index.js";
