/**
 * The TypeScript GEMM: C = alpha · op(A) · op(B) + beta · C over a batch, sums in float64 locals.
 * Every case is brought to the [m, k]·[n, k]ᵀ layout, whose inner loop walks both operands contiguously.
 */
import { gemmDefaults, type GemmOptions } from "../kernels.js";

/** C[m, n] += alpha · (A[m, k] times B), A and C starting at the given offsets. */
type GemmTile = (
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
) => void;

/**
 * C[m, n] += alpha · A[m, k] · B[n, k]ᵀ: both operands walk contiguous rows. A 2×4 tile of dot
 * products shares each loaded value across several accumulators (~2 GFLOP/s on one core, about 4×
 * a plain i-k-j loop). The other transpose cases are packed into this layout first.
 */
const gemmNT: GemmTile = (a, aOff, b, bOff, c, cOff, m, n, k, alpha) => {
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
};

/** C[m, n] += alpha · A[m, k] · B[k, n], i-k-j order; used when A has too few rows to pay for packing B. */
const gemmNN: GemmTile = (a, aOff, b, bOff, c, cOff, m, n, k, alpha) => {
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
};

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

/** The same size checks, with the same messages, as the native addon's gemm. */
function checkGemm(a: Float32Array, b: Float32Array, c: Float32Array, p: Required<GemmOptions>): void {
  const { m, n, k, batch } = p;
  if (batch > 1 && p.strideC < m * n) throw new RangeError(`gemm: strideC ${p.strideC} is less than m·n = ${m * n}`);
  for (const [name, buffer, stride, size] of [
    ["a", a, p.strideA, m * k],
    ["b", b, p.strideB, k * n],
    ["c", c, p.strideC, m * n],
  ] as const) {
    const needed = batch === 0 || size === 0 ? 0 : (batch - 1) * stride + size;
    if (buffer.length < needed)
      throw new RangeError(`gemm: ${name} has ${buffer.length} elements, needs at least ${needed}`);
  }
}

export function tsGemm(a: Float32Array, b: Float32Array, c: Float32Array, options: GemmOptions): void {
  const p = gemmDefaults(options);
  checkGemm(a, b, c, p);
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
}
