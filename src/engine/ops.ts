/**
 * The primitive ops. Each is named once, as a key of `OpAttrs` (op-list.ts; the backend's `UnaryOp`,
 * `BinaryOp` and `ReduceOp` are derived from it), has one public wrapper here that checks shapes and
 * calls the backend's raw hook, and has one rule in the gradient table (`autograd.ts`), except `eq`,
 * which has no gradient. Anything else (transpose, mean, silu, attention, losses) is a composite of
 * these and needs no rule.
 */
import { backend, type BinaryOp, type GemmParams, type UnaryOp } from "./backend.js";
import { contiguousStrides } from "./backends/ts.js";
import type { MatmulOptions, OpAttrs, OpName } from "./op-list.js";
import { allocate, allocateZeroed } from "./pool.js";
import { formatShape, isGradEnabled, scalar, sizeOf, Tensor } from "./tensor-core.js";

export type { MatmulOptions, OpAttrs, OpName } from "./op-list.js";

/** A shape or argument error; the message names the op and the shapes involved. */
export class ShapeError extends Error {
  override name = "ShapeError";
  constructor(op: string, problem: string, shapes: readonly (readonly number[])[] = []) {
    super(`${op}: ${problem}${shapes.length > 0 ? ` (shapes ${shapes.map(formatShape).join(", ")})` : ""}`);
  }
}

/** Wraps an op's output, recording its node when the tape is on and some input needs a gradient. */
function make<K extends OpName>(
  op: K,
  data: Float32Array,
  shape: readonly number[],
  inputs: Tensor[],
  attrs: OpAttrs[K],
): Tensor {
  const tracked = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  return new Tensor(data, shape, tracked ? { node: { op, inputs, attrs } } : {});
}

function asTensor(value: Tensor | number): Tensor {
  return typeof value === "number" ? scalar(value) : value;
}

/** Resolves a possibly negative axis, or throws naming the op. */
export function normalizeAxis(op: string, axis: number, rank: number, shape: readonly number[] = []): number {
  const resolved = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(resolved) || resolved < 0 || resolved >= rank) {
    throw new ShapeError(op, `axis ${axis} is out of range for rank ${rank}`, [shape]);
  }
  return resolved;
}

function padRank(shape: readonly number[], rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const pa = padRank(a, rank);
  const pb = padRank(b, rank);
  return pa.map((da, d) => {
    const db = pb[d]!;
    if (da === db || db === 1) return da;
    if (da === 1) return db;
    throw new ShapeError(op, "shapes do not broadcast", [a, b]);
  });
}

// ---------------------------------------------------------------------------------------------
// elementwise unary

function unary(op: UnaryOp, x: Tensor): Tensor {
  const out = allocate(x.size);
  backend().unary(op, x.data, out);
  return make(op, out, x.shape, [x], {});
}

export const neg = (x: Tensor): Tensor => unary("neg", x);
export const exp = (x: Tensor): Tensor => unary("exp", x);
export const log = (x: Tensor): Tensor => unary("log", x);
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", x);
export const recip = (x: Tensor): Tensor => unary("recip", x);
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);

// ---------------------------------------------------------------------------------------------
// elementwise binary

function binary(op: BinaryOp, first: Tensor | number, second: Tensor | number): Tensor {
  const a = asTensor(first);
  const b = asTensor(second);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = allocate(sizeOf(shape));
  backend().binary(op, a.data, padRank(a.shape, shape.length), b.data, padRank(b.shape, shape.length), out, shape);
  if (op === "eq") return new Tensor(out, shape);
  return make(op, out, shape, [a, b], {});
}

export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary("add", a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary("sub", a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary("mul", a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary("div", a, b);
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary("maximum", a, b);
/** 1 where a == b, else 0. Not differentiable; the result never requires a gradient. */
export const eq = (a: Tensor | number, b: Tensor | number): Tensor => binary("eq", a, b);

// ---------------------------------------------------------------------------------------------
// reduce

function reduce(op: "sum" | "max", x: Tensor, axis: number | undefined, keepdim: boolean): Tensor {
  if (axis === undefined) {
    const all = reduce(op, reshape(x, [x.size]), 0, false);
    return keepdim
      ? reshape(
          all,
          x.shape.map(() => 1),
        )
      : reshape(all, []);
  }
  const ax = normalizeAxis(op, axis, x.ndim, x.shape);
  if (x.shape[ax] === 0) throw new ShapeError(op, `cannot reduce an empty axis ${ax}`, [x.shape]);
  const kept = x.shape.map((d, i) => (i === ax ? 1 : d));
  const out = allocate(sizeOf(kept));
  backend().reduce(op, x.data, x.shape, ax, out);
  const result = make(op, out, kept, [x], { axis: ax });
  return keepdim
    ? result
    : reshape(
        result,
        x.shape.filter((_, i) => i !== ax),
      );
}

/** Sum over one axis, or over everything when axis is undefined. */
export function sum(x: Tensor, axis?: number, keepdim = false): Tensor {
  return reduce("sum", x, axis, keepdim);
}

/** Maximum over one axis (or everything); the gradient is shared equally among ties. */
export function max(x: Tensor, axis?: number, keepdim = false): Tensor {
  return reduce("max", x, axis, keepdim);
}

/** Composite: sum divided by the count. */
export function mean(x: Tensor, axis?: number, keepdim = false): Tensor {
  const count = axis === undefined ? x.size : x.dim(axis);
  return mul(sum(x, axis, keepdim), 1 / count);
}

// ---------------------------------------------------------------------------------------------
// movement

/** Same buffer, new shape; one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferred = shape.indexOf(-1);
  let target = [...shape];
  if (inferred >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== inferred));
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError("reshape", `cannot infer -1 for size ${x.size}`, [x.shape, shape]);
    target = shape.map((d, i) => (i === inferred ? x.size / known : d));
  }
  if (!target.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(target) !== x.size) {
    throw new ShapeError("reshape", `size ${x.size} does not fit the new shape`, [x.shape, shape]);
  }
  if (target.length === x.ndim && target.every((d, i) => d === x.shape[i])) return x;
  return make("reshape", x.data, target, [x], { shape: target });
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const resolved = perm.map((p) => (p < 0 ? p + x.ndim : p));
  const valid = resolved.length === x.ndim && [...resolved].sort((p, q) => p - q).every((p, i) => p === i);
  if (!valid) throw new ShapeError("permute", `[${perm.join(", ")}] is not a permutation of the axes`, [x.shape]);
  if (resolved.every((p, i) => p === i)) return x;
  const inStrides = contiguousStrides(x.shape);
  const shape = resolved.map((p) => x.shape[p]!);
  const out = allocate(x.size);
  backend().restride(
    x.data,
    resolved.map((p) => inStrides[p]!),
    shape,
    out,
  );
  return make("permute", out, shape, [x], { perm: resolved });
}

/** Composite: swaps two axes. */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const a = normalizeAxis("transpose", d0, x.ndim, x.shape);
  const b = normalizeAxis("transpose", d1, x.ndim, x.shape);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcasts size-1 (or missing leading) dimensions to `shape`, copying. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) throw new ShapeError("expand", "target has fewer dimensions", [x.shape, shape]);
  const padded = padRank(x.shape, shape.length);
  const strides = contiguousStrides(padded);
  padded.forEach((d, i) => {
    if (d !== shape[i] && d !== 1)
      throw new ShapeError("expand", `dimension ${i} of size ${d} cannot expand`, [x.shape, shape]);
    if (d === 1 && shape[i] !== 1) strides[i] = 0;
  });
  if (shape.length === x.ndim && shape.every((d, i) => d === x.shape[i])) return x;
  const out = allocate(sizeOf(shape));
  backend().restride(x.data, strides, shape, out);
  return make("expand", out, shape, [x], { shape: [...shape] });
}

/** Elements start..end-1 along an axis. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normalizeAxis("slice", axis, x.ndim, x.shape);
  const size = x.shape[ax]!;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= size)) {
    throw new ShapeError("slice", `range ${start}..${end} is outside axis ${ax} of size ${size}`, [x.shape]);
  }
  if (start === 0 && end === size) return x;
  const shape = x.shape.map((d, i) => (i === ax ? end - start : d));
  const out = allocate(sizeOf(shape));
  backend().copyAxis(x.data, x.shape, start, out, shape, 0, ax, end - start);
  return make("slice", out, shape, [x], { axis: ax, start, end });
}

/** Zero padding along an axis. */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  const ax = normalizeAxis("pad", axis, x.ndim, x.shape);
  if (!(Number.isInteger(before) && Number.isInteger(after) && before >= 0 && after >= 0)) {
    throw new ShapeError("pad", `padding ${before}, ${after} must be non-negative integers`, [x.shape]);
  }
  if (before === 0 && after === 0) return x;
  const shape = x.shape.map((d, i) => (i === ax ? d + before + after : d));
  const out = allocateZeroed(sizeOf(shape));
  backend().copyAxis(x.data, x.shape, 0, out, shape, before, ax, x.shape[ax]!);
  return make("pad", out, shape, [x], { axis: ax, before, after });
}

/** Concatenation along an axis; all other dimensions must agree. */
export function cat(xs: readonly Tensor[], axis: number): Tensor {
  const first = xs[0];
  if (first === undefined) throw new ShapeError("cat", "needs at least one tensor");
  const ax = normalizeAxis("cat", axis, first.ndim, first.shape);
  for (const x of xs) {
    const agrees = x.ndim === first.ndim && x.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!agrees)
      throw new ShapeError(
        "cat",
        `shapes differ outside axis ${ax}`,
        xs.map((t) => t.shape),
      );
  }
  if (xs.length === 1) return first;
  const shape = first.shape.map((d, i) => (i === ax ? xs.reduce((s, x) => s + x.shape[ax]!, 0) : d));
  const out = allocate(sizeOf(shape));
  let offset = 0;
  for (const x of xs) {
    backend().copyAxis(x.data, x.shape, 0, out, shape, offset, ax, x.shape[ax]!);
    offset += x.shape[ax]!;
  }
  return make("cat", out, shape, [...xs], { axis: ax });
}

// ---------------------------------------------------------------------------------------------
// matmul

/**
 * op(a) · op(b) over the last two axes, with numpy broadcasting over the leading (batch) axes.
 * a: [..., m, k] (or [..., k, m] with transA); b: [..., k, n] (or [..., n, k] with transB).
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2)
    throw new ShapeError("matmul", "both operands need at least 2 dimensions", [a.shape, b.shape]);
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const [kb, n] = transB ? [b1, b0] : [b0, b1];
  if (k !== kb) {
    throw new ShapeError("matmul", `inner dimensions ${k} and ${kb} differ (transA=${transA}, transB=${transB})`, [
      a.shape,
      b.shape,
    ]);
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes("matmul", batchA, batchB);
  const count = sizeOf(batch);
  const shape = [...batch, m, n];
  const out = allocate(sizeOf(shape));
  const base = { m, n, k, transA, transB, alpha: 1, beta: 0 };
  const sizeA = m * k;
  const sizeB = k * n;
  let gemm: GemmParams;
  let aData = a.data;
  let bData = b.data;
  if (sizeOf(batchB) === 1 && !transA) {
    // b is one matrix: fold a's batch into its rows, one big product.
    gemm = { ...base, m: m * sizeOf(batchA), batch: 1, strideA: 0, strideB: 0, strideC: 0 };
  } else if (sizeOf(batchA) === count && sizeOf(batchB) === count) {
    gemm = { ...base, batch: count, strideA: sizeA, strideB: sizeB, strideC: m * n };
  } else if (sizeOf(batchA) === 1 || sizeOf(batchB) === 1) {
    const aShared = sizeOf(batchA) === 1;
    gemm = { ...base, batch: count, strideA: aShared ? 0 : sizeA, strideB: aShared ? sizeB : 0, strideC: m * n };
  } else {
    // Mixed broadcasting ([2,1,..] with [1,3,..]): materialize both to the full batch.
    aData = expand(a.detach(), [...batch, a0, a1]).data;
    bData = expand(b.detach(), [...batch, b0, b1]).data;
    gemm = { ...base, batch: count, strideA: sizeA, strideB: sizeB, strideC: m * n };
  }
  backend().gemm(aData, bData, out, gemm);
  return make("matmul", out, shape, [a, b], { transA, transB });
}

// ---------------------------------------------------------------------------------------------
// gather / scatter-add

function checkIds(op: string, ids: ArrayLike<number>, rows: number): Int32Array {
  const out = Int32Array.from(ids);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== ids[i] || out[i]! < 0 || out[i]! >= rows) {
      throw new ShapeError(op, `id ${ids[i]} at position ${i} is not a row of a table with ${rows} rows`);
    }
  }
  return out;
}

/** Rows of a [rows, C] table by id: the result is [...idsShape, C] (embedding lookup). */
export function gather(table: Tensor, ids: ArrayLike<number>, idsShape: readonly number[] = [ids.length]): Tensor {
  if (table.ndim !== 2) throw new ShapeError("gather", "the table must be 2-D", [table.shape]);
  if (sizeOf(idsShape) !== ids.length)
    throw new ShapeError("gather", `${ids.length} ids do not fill ids shape`, [idsShape]);
  const [rows, cols] = table.shape as [number, number];
  const checked = checkIds("gather", ids, rows);
  const out = allocate(checked.length * cols);
  backend().gather(table.data, cols, checked, out);
  return make("gather", out, [...idsShape, cols], [table], { ids: checked });
}

/** The adjoint of gather: a [rows, C] table of zeros with src[r] added into row ids[r]. */
export function scatterAdd(src: Tensor, ids: ArrayLike<number>, rows: number): Tensor {
  const cols = src.dim(-1);
  if (src.size !== ids.length * cols)
    throw new ShapeError("scatterAdd", `${ids.length} ids do not match the source rows`, [src.shape]);
  const checked = checkIds("scatterAdd", ids, rows);
  const out = allocateZeroed(rows * cols);
  backend().scatterAdd(src.data, cols, checked, out);
  return make("scatterAdd", out, [rows, cols], [src], { ids: checked, rows });
}

// ---------------------------------------------------------------------------------------------
// fused ops

/** x / sqrt(mean(x², last axis) + eps) · weight. */
export function rmsnorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const cols = x.dim(-1);
  if (weight.ndim !== 1 || weight.shape[0] !== cols)
    throw new ShapeError("rmsnorm", "weight must be [C] for x [..., C]", [x.shape, weight.shape]);
  const out = allocate(x.size);
  backend().rmsnorm(x.data, weight.data, out, x.size / cols, cols, eps);
  return make("rmsnorm", out, x.shape, [x, weight], { eps });
}

/**
 * Rotary embedding, Hugging Face rotate-half convention, on x [B, T, H, D] with cos and sin
 * [B, T, D/2] (per-row positions allow left padding). cos and sin are constants.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  if (x.ndim !== 4 || x.dim(3) % 2 !== 0) throw new ShapeError("rope", "x must be [B, T, H, D] with D even", [x.shape]);
  const [batch, seq, heads, dim] = x.shape as [number, number, number, number];
  const half = dim / 2;
  for (const angle of [cos, sin]) {
    if (angle.ndim !== 3 || angle.shape[0] !== batch || angle.shape[1] !== seq || angle.shape[2] !== half) {
      throw new ShapeError("rope", "cos and sin must be [B, T, D/2] for x [B, T, H, D]", [x.shape, angle.shape]);
    }
    if (angle.requiresGrad) throw new ShapeError("rope", "cos and sin must not require gradients");
  }
  const out = allocate(x.size);
  backend().rope(x.data, cos.data, sin.data, out, { batch, seq, heads, half });
  return make("rope", out, x.shape, [x, cos, sin], {});
}

function lastAxisOp(op: "softmax" | "logSoftmax", x: Tensor): Tensor {
  if (x.ndim === 0 || x.dim(-1) === 0) throw new ShapeError(op, "needs a non-empty last axis", [x.shape]);
  const cols = x.dim(-1);
  const out = allocate(x.size);
  backend()[op](x.data, out, x.size / cols, cols);
  return make(op, out, x.shape, [x], {});
}

/** Softmax over the last axis. */
export const softmax = (x: Tensor): Tensor => lastAxisOp("softmax", x);
/** Log-softmax over the last axis. */
export const logSoftmax = (x: Tensor): Tensor => lastAxisOp("logSoftmax", x);

/** silu(a) · b, the SwiGLU gate; a and b have the same shape. */
export function siluMul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== b.ndim || !a.shape.every((d, i) => d === b.shape[i]))
    throw new ShapeError("siluMul", "a and b must have the same shape", [a.shape, b.shape]);
  const out = allocate(a.size);
  backend().siluMul(a.data, b.data, out);
  return make("siluMul", out, a.shape, [a, b], {});
}

// ---------------------------------------------------------------------------------------------
// small composites used by the gradient rules

/** Sums a broadcast result back down to `shape` (the adjoint of broadcasting). */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  let y = x;
  const extra = x.ndim - shape.length;
  for (let d = 0; d < x.ndim; d++) {
    const target = d < extra ? 1 : shape[d - extra]!;
    if (target === 1 && x.shape[d] !== 1) y = sum(y, d, true);
  }
  return reshape(y, shape);
}
