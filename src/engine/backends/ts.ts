/**
 * The TypeScript backend: plain loops over Float32Array, the reference for every other backend and
 * the fallback when the native addon is not built. Sums over a row accumulate in float64 locals.
 * The fused kernels (gemm included) live in `ts-kernels.ts`; this file holds the elementwise, reduce
 * and movement hooks.
 *
 * Loops are written so the innermost one walks memory contiguously and allocates nothing.
 */
import type { Backend, BinaryOp, ReduceOp, UnaryOp } from "../backend-interface.js";
import { sigmoid, tsKernels } from "./ts-kernels.js";

type RowKernel = (
  a: Float32Array,
  aOffset: number,
  aStride: number,
  b: Float32Array,
  bOffset: number,
  bStride: number,
  out: Float32Array,
  outOffset: number,
  n: number,
) => void;

// One row kernel per binary op, so no loop dispatches on the op per element.
const rowKernels: Record<BinaryOp, RowKernel> = {
  add: (a, ao, as, b, bo, bs, out, oo, n) => {
    for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as]! + b[bo + i * bs]!;
  },
  sub: (a, ao, as, b, bo, bs, out, oo, n) => {
    for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as]! - b[bo + i * bs]!;
  },
  mul: (a, ao, as, b, bo, bs, out, oo, n) => {
    for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as]! * b[bo + i * bs]!;
  },
  div: (a, ao, as, b, bo, bs, out, oo, n) => {
    for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as]! / b[bo + i * bs]!;
  },
  maximum: (a, ao, as, b, bo, bs, out, oo, n) => {
    for (let i = 0; i < n; i++) {
      const x = a[ao + i * as]!;
      const y = b[bo + i * bs]!;
      out[oo + i] = x >= y ? x : y;
    }
  },
  eq: (a, ao, as, b, bo, bs, out, oo, n) => {
    for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as] === b[bo + i * bs] ? 1 : 0;
  },
};

const unaryKernels: Record<UnaryOp, (x: Float32Array, out: Float32Array) => void> = {
  neg: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = -x[i]!;
  },
  exp: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]!);
  },
  log: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]!);
  },
  sqrt: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]!);
  },
  rsqrt: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = 1 / Math.sqrt(x[i]!);
  },
  recip: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = 1 / x[i]!;
  },
  sigmoid: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = sigmoid(x[i]!);
  },
};

function product(dims: readonly number[], from = 0, to = dims.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= dims[i]!;
  return p;
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/**
 * Walks every output row of a strided view: `visit(offsets)` is called once per combination of the
 * leading indices with each operand's element offset; the last dimension is left to the caller.
 */
function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  visit: (offsets: number[]) => void,
): void {
  const rank = shape.length;
  const offsets = strides.map(() => 0);
  if (rank <= 1) {
    visit(offsets);
    return;
  }
  const index = new Array<number>(rank - 1).fill(0);
  const rows = product(shape, 0, rank - 1);
  for (let r = 0; r < rows; r++) {
    visit(offsets);
    // Advance the odometer over the leading dimensions.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      for (let o = 0; o < strides.length; o++) offsets[o]! += strides[o]![d]!;
      if (index[d]! < shape[d]!) break;
      for (let o = 0; o < strides.length; o++) offsets[o]! -= strides[o]![d]! * shape[d]!;
      index[d] = 0;
    }
  }
}

/**
 * Merges adjacent dimensions that every operand walks the same way (all contiguous or all broadcast),
 * so that e.g. [8, 16, 64] + [64] becomes one outer loop of 128 rows.
 */
function coalesce(shape: readonly number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, o) => outStrides[o]![last] === s[d]! * size);
    if (mergeable) {
      outShape[last]! *= size;
      strides.forEach((s, o) => (outStrides[o]![last] = s[d]!));
    } else {
      outShape.push(size);
      strides.forEach((s, o) => outStrides[o]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    strides.forEach((_, o) => outStrides[o]!.push(0));
  }
  return { shape: outShape, strides: outStrides };
}

function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = contiguousStrides(shape);
  return strides.map((s, d) => (shape[d] === 1 && outShape[d] !== 1 ? 0 : s));
}

export const tsBackend: Backend = {
  name: "ts",

  unary(op, x, out) {
    unaryKernels[op](x, out);
  },

  binary(op, a, aShape, b, bShape, out, outShape) {
    const kernel = rowKernels[op];
    if (a.length === out.length && b.length === out.length) {
      kernel(a, 0, 1, b, 0, 1, out, 0, out.length);
      return;
    }
    const { shape, strides } = coalesce(outShape, [
      broadcastStrides(aShape, outShape),
      broadcastStrides(bShape, outShape),
      contiguousStrides(outShape),
    ]);
    const last = shape.length - 1;
    const n = shape[last]!;
    const as = strides[0]![last]!;
    const bs = strides[1]![last]!;
    forEachRow(shape, strides, ([ao, bo, oo]) => kernel(a, ao!, as, b, bo!, bs, out, oo!, n));
  },

  reduce(op: ReduceOp, x, shape, axis, out) {
    const outer = product(shape, 0, axis);
    const n = shape[axis]!;
    const inner = product(shape, axis + 1);
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        const base = o * n;
        if (op === "sum") {
          let s = 0;
          for (let j = 0; j < n; j++) s += x[base + j]!;
          out[o] = s;
        } else {
          let best = -Infinity;
          for (let j = 0; j < n; j++) if (x[base + j]! > best) best = x[base + j]!;
          out[o] = best;
        }
      }
      return;
    }
    for (let o = 0; o < outer; o++) {
      const outBase = o * inner;
      out.fill(op === "max" ? -Infinity : 0, outBase, outBase + inner); // out may hold a pooled buffer's old values
      for (let j = 0; j < n; j++) {
        const base = (o * n + j) * inner;
        if (op === "sum") {
          for (let i = 0; i < inner; i++) out[outBase + i]! += x[base + i]!;
        } else {
          for (let i = 0; i < inner; i++) if (x[base + i]! > out[outBase + i]!) out[outBase + i] = x[base + i]!;
        }
      }
    }
  },

  restride(x, strides, outShape, out) {
    const merged = coalesce(outShape, [[...strides], contiguousStrides(outShape)]);
    const last = merged.shape.length - 1;
    const n = merged.shape[last]!;
    const xs = merged.strides[0]![last]!;
    forEachRow(merged.shape, merged.strides, ([xo, oo]) => {
      for (let i = 0; i < n; i++) out[oo! + i] = x[xo! + i * xs]!;
    });
  },

  copyAxis(src, srcShape, srcStart, dst, dstShape, dstStart, axis, length) {
    const outer = product(srcShape, 0, axis);
    const inner = product(srcShape, axis + 1);
    const nSrc = srcShape[axis]!;
    const nDst = dstShape[axis]!;
    for (let o = 0; o < outer; o++) {
      const from = (o * nSrc + srcStart) * inner;
      dst.set(src.subarray(from, from + length * inner), (o * nDst + dstStart) * inner);
    }
  },

  gather(table, cols, ids, out) {
    for (let r = 0; r < ids.length; r++) {
      const from = ids[r]! * cols;
      out.set(table.subarray(from, from + cols), r * cols);
    }
  },

  scatterAdd(src, cols, ids, out) {
    for (let r = 0; r < ids.length; r++) {
      const to = ids[r]! * cols;
      const from = r * cols;
      for (let j = 0; j < cols; j++) out[to + j]! += src[from + j]!;
    }
  },

  ...tsKernels,
};
