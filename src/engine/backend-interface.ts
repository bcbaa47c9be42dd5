/**
 * The backend interface: the raw hooks behind the primitives in `ops.ts`, nothing more.
 *
 * Every hook works on contiguous, row-major Float32Array buffers in the JS heap and writes into an
 * `out` buffer the caller allocated (zero-filled). Hooks do not check shapes — the public wrappers in
 * `ops.ts` do that once, for every backend. Because the buffers are ordinary Float32Arrays, there is
 * no alloc/copy-in/copy-out hook: a backend that kept memory elsewhere would add them here.
 *
 * The fused kernels (gemm, rmsnorm, rope, softmax, …) are declared once, in `kernels.ts`.
 * `backends/ts.ts` is the living definition of every hook; a faster backend overrides some hooks
 * and inherits the rest (see `backends/native.ts`).
 */
import type { GemmOptions, Kernels } from "./kernels.js";
import type { BinaryOp, ReduceOp, UnaryOp } from "./op-list.js";

export type { BinaryOp, ReduceOp, UnaryOp } from "./op-list.js";

/** GemmOptions with every field given, as `ops.ts` passes them. */
export type GemmParams = Required<GemmOptions>;

/** The raw hooks: elementwise, reduce and movement ones here, plus every fused kernel of `Kernels`. */
export interface Backend extends Kernels {
  readonly name: string;

  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  /** Numpy broadcasting; shapes are already right-aligned to outShape's rank. */
  binary(
    op: BinaryOp,
    a: Float32Array,
    aShape: readonly number[],
    b: Float32Array,
    bShape: readonly number[],
    out: Float32Array,
    outShape: readonly number[],
  ): void;
  /** Reduces `axis` of x (shape `shape`) keeping it as size 1. */
  reduce(op: ReduceOp, x: Float32Array, shape: readonly number[], axis: number, out: Float32Array): void;
  /** out[i] = x[Σ index_d · strides[d]] over out's shape: permute and expand (stride 0) in one hook. */
  restride(x: Float32Array, strides: readonly number[], outShape: readonly number[], out: Float32Array): void;
  /** Copies `length` slices along `axis` from src (from srcStart) into dst (at dstStart): slice, pad and cat. */
  copyAxis(
    src: Float32Array,
    srcShape: readonly number[],
    srcStart: number,
    dst: Float32Array,
    dstShape: readonly number[],
    dstStart: number,
    axis: number,
    length: number,
  ): void;
  /** out[r, :] = table[ids[r], :] with rows of `cols` elements. */
  gather(table: Float32Array, cols: number, ids: Int32Array, out: Float32Array): void;
  /** out[ids[r], :] += src[r, :]. */
  scatterAdd(src: Float32Array, cols: number, ids: Int32Array, out: Float32Array): void;
}
