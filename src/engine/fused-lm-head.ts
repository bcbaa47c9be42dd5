/**
 * The language-model head fused with log-softmax and the target gather: log p(target) for each row of
 * hidden states h [N, C] against the vocabulary matrix W [V, C] (lm_head or the tied embedding), with
 * the logits computed a chunk of rows at a time, so the [N, V] logits, their log-softmax and its
 * gradient never exist at once (the idea of Liger's fused linear cross-entropy).
 *
 * Why the gradient needs no second pass for h: ∂log p(t_i)/∂h_i = W[t_i] − Σ_v p_iv W_v does not depend
 * on the upstream gradient, so the forward stores that [N, C] direction and backward scales it. Only a
 * trainable W (full fine-tuning) makes backward recompute each chunk's probabilities for dW.
 *
 * On top of the log-probs the same pass gives, when asked, what TRL logs and lm-eval checks: whether
 * the target is the argmax (first maximum, as argmax picks), the entropy of each row's distribution
 * and its mean logit.
 */
import { backend } from "./backend.js";
import type { OpAttrs } from "./op-list.js";
import { ShapeError } from "./ops.js";
import { formatShape, isGradEnabled, Tensor } from "./tensor-core.js";

/**
 * Logits computed at once by default: 2^25 floats (128 MiB), e.g. 220 rows of a 151,936-token vocabulary.
 * Each chunk's two products repack the whole of W, so fewer rows than this make the head pack-bound
 * (110 rows ran its products ~20% slower).
 */
export const LM_HEAD_CHUNK_ELEMENTS = 1 << 25;

export interface LmHeadOptions {
  /** Per row, whether the target is the argmax of the logits. */
  greedy?: boolean;
  /** Per row, the entropy (nats) of the next-token distribution. */
  entropy?: boolean;
  /** Per row, the mean logit over the vocabulary. */
  logitMean?: boolean;
  /** Logit elements (rows × V) computed at once; at least one row. Default LM_HEAD_CHUNK_ELEMENTS. */
  chunkElements?: number;
}

export interface LmHeadResult {
  /** [N] log p(target), differentiable with respect to hidden and weight. */
  logprobs: Tensor;
  /** 1 where the target is the argmax (first maximum), else 0 (with `greedy`). */
  isArgmax?: Uint8Array;
  entropy?: Float64Array;
  logitMean?: Float64Array;
}

type Attrs = OpAttrs["lmHeadLogprobs"];

interface Problem {
  h: Float32Array;
  w: Float32Array;
  targets: Int32Array;
  rows: number;
  cols: number;
  vocab: number;
  chunkRows: number;
}

// One logits buffer reused by every call (the engine is single-threaded): the chunk, never [N, V].
let scratch = new Float32Array(0);

function chunkBuffer(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch.subarray(0, size);
}

/** Logits of rows r0 .. r0 + count of h against every vocabulary row, into the shared chunk buffer. */
function chunkLogits(p: Problem, r0: number, count: number): Float32Array {
  const z = chunkBuffer(count * p.vocab);
  const hc = p.h.subarray(r0 * p.cols, (r0 + count) * p.cols);
  backend().gemm(hc, p.w, z, { m: count, n: p.vocab, k: p.cols, transB: true });
  return z;
}

/** Whether column t holds the first maximum of the row; stops at the first column that beats it. */
function targetIsFirstMax(z: Float32Array, base: number, vocab: number, t: number): boolean {
  const zt = z[base + t]!;
  for (let v = 0; v < t; v++) if (z[base + v]! >= zt) return false;
  for (let v = t + 1; v < vocab; v++) if (z[base + v]! > zt) return false;
  return true;
}

function dot(a: Float32Array, aBase: number, b: Float32Array | Float64Array, bBase: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s += a[aBase + c]! * b[bBase + c]!;
  return s;
}

/** Σ_v W_v in float64: the mean logit of row i is h_i · Σ_v W_v / V. */
function columnSums(p: Problem): Float64Array {
  const sums = new Float64Array(p.cols);
  for (let v = 0; v < p.vocab; v++) for (let c = 0; c < p.cols; c++) sums[c]! += p.w[v * p.cols + c]!;
  return sums;
}

interface Forward {
  logprobs: Float32Array;
  direction: Float32Array | null;
  isArgmax?: Uint8Array;
  entropy?: Float64Array;
}

function forward(p: Problem, withDirection: boolean, options: LmHeadOptions): Forward {
  const { rows, cols, vocab, targets } = p;
  const logprobs = new Float32Array(rows);
  const direction = withDirection ? new Float32Array(rows * cols) : null;
  const isArgmax = options.greedy ? new Uint8Array(rows) : undefined;
  const entropy = options.entropy ? new Float64Array(rows) : undefined;
  const needProbs = direction !== null || entropy !== undefined;
  for (let r0 = 0; r0 < rows; r0 += p.chunkRows) {
    const count = Math.min(p.chunkRows, rows - r0);
    const z = chunkLogits(p, r0, count);
    const targetLogits = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t = targets[r0 + i]!;
      targetLogits[i] = z[i * vocab + t]!;
      if (isArgmax) isArgmax[r0 + i] = targetIsFirstMax(z, i * vocab, vocab, t) ? 1 : 0;
    }
    backend().logSoftmax(z, z, count, vocab);
    for (let i = 0; i < count; i++) logprobs[r0 + i] = z[i * vocab + targets[r0 + i]!]!;
    if (!needProbs) continue;
    // softmax of the log-softmax is the softmax itself; then E_p[W] = P·W, one [count, C] product.
    backend().softmax(z, z, count, vocab);
    const expected = new Float32Array(count * cols);
    backend().gemm(z, p.w, expected, { m: count, n: cols, k: vocab });
    for (let i = 0; i < count; i++) {
      const r = r0 + i;
      if (direction) {
        const t = targets[r]!;
        for (let c = 0; c < cols; c++) direction[r * cols + c] = p.w[t * cols + c]! - expected[i * cols + c]!;
      }
      // H = log Z − E_p[z] and E_p[z] = h · E_p[W]; log Z = z_t − log p(t).
      if (entropy) entropy[r] = targetLogits[i]! - logprobs[r]! - dot(p.h, r * cols, expected, i * cols, cols);
    }
  }
  return { logprobs, direction, isArgmax, entropy };
}

function checkInputs(hidden: Tensor, weight: Tensor, targets: ArrayLike<number>): Int32Array {
  const shapes = [hidden.shape, weight.shape];
  if (hidden.ndim !== 2 || weight.ndim !== 2 || hidden.dim(1) !== weight.dim(1))
    throw new ShapeError("lmHeadLogprobs", "expected hidden [N, C] and weight [V, C]", shapes);
  if (targets.length !== hidden.dim(0))
    throw new ShapeError("lmHeadLogprobs", `${targets.length} targets for ${hidden.dim(0)} rows`, shapes);
  const vocab = weight.dim(0);
  const ids = Int32Array.from(targets);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== targets[i] || ids[i]! < 0 || ids[i]! >= vocab)
      throw new ShapeError("lmHeadLogprobs", `target ${targets[i]} at row ${i} is outside the vocabulary of ${vocab}`);
  }
  return ids;
}

function chunkRowsFor(vocab: number, rows: number, chunkElements: number): number {
  if (!(Number.isInteger(chunkElements) && chunkElements >= vocab))
    throw new ShapeError("lmHeadLogprobs", `chunkElements ${chunkElements} must be an integer ≥ V = ${vocab}`);
  return Math.max(1, Math.min(rows, Math.floor(chunkElements / vocab)));
}

/**
 * log p(targets[i] | row i) = log_softmax(hidden · weightᵀ)[i, targets[i]] for hidden [N, C] and
 * weight [V, C], without the [N, V] logits; the values `options` asks for come from the same pass.
 */
export function lmHeadLogprobs(
  hidden: Tensor,
  weight: Tensor,
  targets: ArrayLike<number>,
  options: LmHeadOptions = {},
): LmHeadResult {
  const ids = checkInputs(hidden, weight, targets);
  const [rows, cols] = hidden.shape as [number, number];
  const vocab = weight.dim(0);
  const chunkRows = chunkRowsFor(vocab, rows, options.chunkElements ?? LM_HEAD_CHUNK_ELEMENTS);
  const problem: Problem = { h: hidden.data, w: weight.data, targets: ids, rows, cols, vocab, chunkRows };
  const tracked = isGradEnabled() && (hidden.requiresGrad || weight.requiresGrad);
  const result = forward(problem, tracked && hidden.requiresGrad, options);
  const attrs: Attrs = { targets: ids, direction: result.direction, chunkRows };
  const node = tracked ? { op: "lmHeadLogprobs" as const, inputs: [hidden, weight], attrs } : null;
  const logprobs = new Tensor(result.logprobs, [rows], { node });
  const out: LmHeadResult = { logprobs };
  if (result.isArgmax) out.isArgmax = result.isArgmax;
  if (result.entropy) out.entropy = result.entropy;
  if (options.logitMean) {
    const sums = columnSums(problem);
    out.logitMean = Float64Array.from({ length: rows }, (_, r) => dot(hidden.data, r * cols, sums, 0, cols) / vocab);
  }
  return out;
}

/** dW = Σ_i g_i (onehot(t_i) − p_i) ⊗ h_i, recomputing each chunk's probabilities. */
function weightGradient(p: Problem, g: Float32Array): Float32Array {
  const { cols, vocab, targets } = p;
  const dw = new Float32Array(vocab * cols);
  for (let r0 = 0; r0 < p.rows; r0 += p.chunkRows) {
    const count = Math.min(p.chunkRows, p.rows - r0);
    const z = chunkLogits(p, r0, count);
    backend().softmax(z, z, count, vocab);
    const scaled = new Float32Array(count * cols); // g_i · h_i
    for (let i = 0; i < count; i++) {
      const gi = g[r0 + i]!;
      for (let c = 0; c < cols; c++) scaled[i * cols + c] = gi * p.h[(r0 + i) * cols + c]!;
    }
    backend().gemm(z, scaled, dw, { m: vocab, n: cols, k: count, transA: true, alpha: -1, beta: 1 });
    for (let i = 0; i < count; i++) {
      const t = targets[r0 + i]!;
      for (let c = 0; c < cols; c++) dw[t * cols + c]! += scaled[i * cols + c]!;
    }
  }
  return dw;
}

/** The gradient rule: [dHidden, dWeight] for the output gradient g [N]. */
export function lmHeadLogprobsBackward(
  g: Tensor,
  inputs: readonly Tensor[],
  attrs: Attrs,
): [Tensor | null, Tensor | null] {
  const [hidden, weight] = inputs as [Tensor, Tensor];
  const [rows, cols] = hidden.shape as [number, number];
  let dh: Tensor | null = null;
  if (hidden.requiresGrad) {
    const direction = attrs.direction;
    if (direction === null)
      throw new Error(`lmHeadLogprobs: no stored direction for hidden ${formatShape(hidden.shape)}`);
    const data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const gr = g.data[r]!;
      for (let c = 0; c < cols; c++) data[r * cols + c] = gr * direction[r * cols + c]!;
    }
    dh = new Tensor(data, hidden.shape);
  }
  let dw: Tensor | null = null;
  if (weight.requiresGrad) {
    const problem: Problem = {
      h: hidden.data,
      w: weight.data,
      targets: attrs.targets,
      rows,
      cols,
      vocab: weight.dim(0),
      chunkRows: attrs.chunkRows,
    };
    dw = new Tensor(weightGradient(problem, g.data), weight.shape);
  }
  return [dh, dw];
}
