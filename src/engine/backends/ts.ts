/**
 * The TypeScript backend: plain loops over Float32Array, the reference for every other backend and
 * the fallback when the native addon is not built. Sums over a row accumulate in float64 locals.
 *
 * Loops are written so the innermost one walks memory contiguously and allocates nothing.
 */
import type { Backend, BinaryOp, ReduceOp, RopeDims, UnaryOp } from "../backend.js";

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

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

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

/**
 * C[m, n] += alpha · A[m, k] · B[n, k]ᵀ: both operands walk contiguous rows. A 2×4 tile of dot
 * products shares each loaded value across several accumulators (~2 GFLOP/s on one core, about 4×
 * a plain i-k-j loop). The other transpose cases are packed into this layout first.
 */
function gemmNT(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = aOff + i * k;
    const a1 = a0 + k;
    const c0 = cOff + i * n;
    const c1 = c0 + n;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const b0 = bOff + j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      for (let q = 0; q < k; q++) {
        const x0 = a[a0 + q]!;
        const x1 = a[a1 + q]!;
        const y0 = b[b0 + q]!;
        const y1 = b[b1 + q]!;
        const y2 = b[b2 + q]!;
        const y3 = b[b3 + q]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      c[c0 + j]! += alpha * s00;
      c[c0 + j + 1]! += alpha * s01;
      c[c0 + j + 2]! += alpha * s02;
      c[c0 + j + 3]! += alpha * s03;
      c[c1 + j]! += alpha * s10;
      c[c1 + j + 1]! += alpha * s11;
      c[c1 + j + 2]! += alpha * s12;
      c[c1 + j + 3]! += alpha * s13;
    }
    for (; j < n; j++) {
      const b0 = bOff + j * k;
      let s0 = 0;
      let s1 = 0;
      for (let q = 0; q < k; q++) {
        const y = b[b0 + q]!;
        s0 += a[a0 + q]! * y;
        s1 += a[a1 + q]! * y;
      }
      c[c0 + j]! += alpha * s0;
      c[c1 + j]! += alpha * s1;
    }
  }
  for (; i < m; i++) {
    const a0 = aOff + i * k;
    for (let j = 0; j < n; j++) {
      const b0 = bOff + j * k;
      let s = 0;
      for (let q = 0; q < k; q++) s += a[a0 + q]! * b[b0 + q]!;
      c[cOff + i * n + j]! += alpha * s;
    }
  }
}

/** C[m, n] += alpha · A[m, k] · B[k, n], i-k-j order; used when A has too few rows to pay for packing B. */
function gemmNN(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
): void {
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * n;
    const aRow = aOff + i * k;
    for (let q = 0; q < k; q++) {
      const aiq = alpha * a[aRow + q]!;
      if (aiq === 0) continue;
      const bRow = bOff + q * n;
      for (let j = 0; j < n; j++) c[cRow + j]! += aiq * b[bRow + j]!;
    }
  }
}

// Scratch buffers for packed (transposed) operands, grown on demand and reused across calls.
let packA = new Float32Array(0);
let packB = new Float32Array(0);

/** dst[cols, rows] = src[rows, cols]ᵀ (src starting at offset). */
function transposeInto(dst: Float32Array, src: Float32Array, offset: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const from = offset + r * cols;
    for (let j = 0; j < cols; j++) dst[j * rows + r] = src[from + j]!;
  }
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
      if (op === "max") out.fill(-Infinity, outBase, outBase + inner);
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

  gemm(a, b, c, p) {
    const { m, n, k, alpha } = p;
    const size = m * n;
    const smallNN = !p.transA && !p.transB && m < 4;
    if (p.transA && packA.length < m * k) packA = new Float32Array(m * k);
    if (!p.transB && !smallNN && packB.length < n * k) packB = new Float32Array(n * k);
    for (let t = 0; t < p.batch; t++) {
      const cOff = t * p.strideC;
      if (p.beta === 0) c.fill(0, cOff, cOff + size);
      else if (p.beta !== 1) for (let i = cOff; i < cOff + size; i++) c[i]! *= p.beta;
      if (smallNN) {
        gemmNN(a, t * p.strideA, b, t * p.strideB, c, cOff, m, n, k, alpha);
        continue;
      }
      // Bring both operands to the [m, k]·[n, k]ᵀ layout; a broadcast operand is packed once.
      let aData = a;
      let aOff = t * p.strideA;
      if (p.transA) {
        if (t === 0 || p.strideA !== 0) transposeInto(packA, a, aOff, k, m);
        aData = packA;
        aOff = 0;
      }
      let bData = b;
      let bOff = t * p.strideB;
      if (!p.transB) {
        if (t === 0 || p.strideB !== 0) transposeInto(packB, b, bOff, k, n);
        bData = packB;
        bOff = 0;
      }
      gemmNT(aData, aOff, bData, bOff, c, cOff, m, n, k, alpha);
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

  rmsnorm(x, weight, out, rows, cols, eps) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let ss = 0;
      for (let j = 0; j < cols; j++) ss += x[base + j]! * x[base + j]!;
      const scale = 1 / Math.sqrt(ss / cols + eps);
      for (let j = 0; j < cols; j++) out[base + j] = x[base + j]! * scale * weight[j]!;
    }
  },

  rmsnormBackward(grad, x, weight, dx, dWeight, rows, cols, eps) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let ss = 0;
      let dot = 0;
      for (let j = 0; j < cols; j++) {
        ss += x[base + j]! * x[base + j]!;
        dot += grad[base + j]! * weight[j]! * x[base + j]!;
      }
      const scale = 1 / Math.sqrt(ss / cols + eps);
      const correction = (scale * scale * scale * dot) / cols;
      for (let j = 0; j < cols; j++) {
        const g = grad[base + j]!;
        dx[base + j] = scale * g * weight[j]! - x[base + j]! * correction;
        dWeight[j]! += g * x[base + j]! * scale;
      }
    }
  },

  rope(x, cos, sin, out, { batch, seq, heads, half }: RopeDims) {
    const dim = 2 * half;
    for (let bt = 0; bt < batch * seq; bt++) {
      const angleBase = bt * half;
      for (let h = 0; h < heads; h++) {
        const base = (bt * heads + h) * dim;
        for (let i = 0; i < half; i++) {
          const c = cos[angleBase + i]!;
          const s = sin[angleBase + i]!;
          const x1 = x[base + i]!;
          const x2 = x[base + half + i]!;
          out[base + i] = x1 * c - x2 * s;
          out[base + half + i] = x2 * c + x1 * s;
        }
      }
    }
  },

  softmax(x, out, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) if (x[base + j]! > max) max = x[base + j]!;
      let sum = 0;
      for (let j = 0; j < cols; j++) {
        const e = Math.exp(x[base + j]! - max);
        out[base + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < cols; j++) out[base + j]! *= inv;
    }
  },

  softmaxBackward(grad, y, dx, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += grad[base + j]! * y[base + j]!;
      for (let j = 0; j < cols; j++) dx[base + j] = y[base + j]! * (grad[base + j]! - dot);
    }
  },

  logSoftmax(x, out, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) if (x[base + j]! > max) max = x[base + j]!;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(x[base + j]! - max);
      const shift = max + Math.log(sum);
      for (let j = 0; j < cols; j++) out[base + j] = x[base + j]! - shift;
    }
  },

  logSoftmaxBackward(grad, y, dx, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let total = 0;
      for (let j = 0; j < cols; j++) total += grad[base + j]!;
      for (let j = 0; j < cols; j++) dx[base + j] = grad[base + j]! - Math.exp(y[base + j]!) * total;
    }
  },

  siluMul(a, b, out) {
    for (let i = 0; i < a.length; i++) out[i] = a[i]! * sigmoid(a[i]!) * b[i]!;
  },

  siluMulBackward(grad, a, b, da, db) {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const s = sigmoid(x);
      const g = grad[i]!;
      da[i] = g * b[i]! * s * (1 + x * (1 - s));
      db[i] = g * x * s;
    }
  },
};
