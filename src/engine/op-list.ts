/**
 * The primitive list: every op's name, once, as a key of `OpAttrs`, grouped by kind. The value is
 * what the op records for backward. The backend's op-name types (`UnaryOp`, …) are the groups' keys.
 */

import type { Bf16Matrix } from "./bf16-matrix.js";

type NoAttrs = Record<string, never>;

/** What loraLinear needs from its frozen base layer (nn/layers.ts's Linear, in whichever form it holds W). */
export interface FrozenLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** out[rows, out] = x[rows, in]·Wᵀ + bias. */
  forwardInto(x: Float32Array, rows: number, out: Float32Array): void;
  /** dx[rows, in] = g[rows, out]·W. */
  inputGradInto(g: Float32Array, rows: number, dx: Float32Array): void;
}

/** Elementwise unary ops. */
interface UnaryAttrs {
  neg: NoAttrs;
  exp: NoAttrs;
  log: NoAttrs;
  sqrt: NoAttrs;
  rsqrt: NoAttrs;
  recip: NoAttrs;
  sigmoid: NoAttrs;
}

/** Elementwise binary ops with numpy broadcasting; `eq` gives 1 where equal, else 0, has no gradient and is never recorded. */
interface BinaryAttrs {
  add: NoAttrs;
  sub: NoAttrs;
  mul: NoAttrs;
  div: NoAttrs;
  maximum: NoAttrs;
  eq: NoAttrs;
}

/** Reductions of one axis, kept as size 1. */
interface ReduceAttrs {
  sum: { axis: number };
  max: { axis: number };
}

/** The primitive list. Keys are op names; values are the attributes each op records for backward. */
export interface OpAttrs extends UnaryAttrs, BinaryAttrs, ReduceAttrs {
  // movement
  reshape: { shape: readonly number[] };
  permute: { perm: readonly number[] };
  expand: { shape: readonly number[] };
  slice: { axis: number; start: number; end: number };
  pad: { axis: number; before: number; after: number };
  cat: { axis: number };
  // matmul with transposes and broadcast batch dims
  matmul: { transA: boolean; transB: boolean };
  // rows of a table by id, and its adjoint
  gather: { ids: Int32Array };
  scatterAdd: { ids: Int32Array; rows: number };
  // fused ops, each worth a kernel of its own (see kernels.ts)
  rmsnorm: { eps: number };
  rope: NoAttrs;
  softmax: NoAttrs;
  logSoftmax: NoAttrs;
  siluMul: NoAttrs;
  // lm_head + log-softmax + target gather in chunks (fused-lm-head.ts); direction = ∂log p/∂hidden [N, C]
  lmHeadLogprobs: { targets: Int32Array; direction: Float32Array | null; chunkRows: number };
  // x·Wᵀ with W a frozen weight held as bf16 bits (frozen-matmul.ts); only x is an input
  frozenMatmul: { weight: Bf16Matrix };
  // a frozen linear layer plus its LoRA adapter, one [N, out] output (fused-lora.ts); inputs x, x_a, A, B
  loraLinear: { base: FrozenLinear; scaling: number; low: Float32Array };
  // softmax(q·kᵀ + bias) per kv head, the scores normalised in place (fused-attention.ts); inputs q, k
  attentionProbs: NoAttrs;
}

export type OpName = keyof OpAttrs;
export type UnaryOp = keyof UnaryAttrs;
export type BinaryOp = keyof BinaryAttrs;
export type ReduceOp = keyof ReduceAttrs;

export interface MatmulOptions {
  /** Use the transpose of a's last two axes. */
  transA?: boolean;
  /** Use the transpose of b's last two axes. */
  transB?: boolean;
}
