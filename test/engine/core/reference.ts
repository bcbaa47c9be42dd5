/**
 * Float64 reference forwards on flat row-major arrays, for checkOp's `reference` option.
 * Deliberately naive: index arithmetic, no sharing with the engine's kernels. Also the constant
 * inputs (rope angles, a padding mask) that ops.test.ts and op-semantics.test.ts share.
 */
import { tensor, type Tensor } from "../../../src/engine/tensor.js";

function strides(shape: readonly number[]): number[] {
  const out = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) out[d] = out[d + 1]! * shape[d + 1]!;
  return out;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Elementwise f(a, b) with numpy broadcasting of shapes sa and sb. */
export function broadcast2(sa: readonly number[], sb: readonly number[], f: (x: number, y: number) => number) {
  return (a: number[], b: number[]): number[] => {
    const rank = Math.max(sa.length, sb.length);
    const pa = [...Array(rank - sa.length).fill(1), ...sa] as number[];
    const pb = [...Array(rank - sb.length).fill(1), ...sb] as number[];
    const shape = pa.map((d, i) => Math.max(d, pb[i]!));
    const [ta, tb, to] = [strides(pa), strides(pb), strides(shape)];
    return Array.from({ length: size(shape) }, (_, flat) => {
      let ia = 0;
      let ib = 0;
      for (let d = 0; d < rank; d++) {
        const idx = Math.floor(flat / to[d]!) % shape[d]!;
        ia += pa[d] === 1 ? 0 : idx * ta[d]!;
        ib += pb[d] === 1 ? 0 : idx * tb[d]!;
      }
      return f(a[ia]!, b[ib]!);
    });
  };
}

/** Reduction of one axis (kept or dropped, same flat order either way). */
export function reduceAxis(shape: readonly number[], axis: number, f: (values: number[]) => number) {
  return (x: number[]): number[] => {
    const outer = size(shape.slice(0, axis));
    const n = shape[axis]!;
    const inner = size(shape.slice(axis + 1));
    const out: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) out.push(f(Array.from({ length: n }, (_, j) => x[(o * n + j) * inner + i]!)));
    }
    return out;
  };
}

/** Batched op(A)·op(B) with broadcast batch dims. */
export function matmulRef(sa: readonly number[], sb: readonly number[], transA = false, transB = false) {
  return (a: number[], b: number[]): number[] => {
    const [a0, a1] = sa.slice(-2) as [number, number];
    const [b0, b1] = sb.slice(-2) as [number, number];
    const [m, k] = transA ? [a1, a0] : [a0, a1];
    const n = transB ? b0 : b1;
    const batchA = sa.slice(0, -2);
    const batchB = sb.slice(0, -2);
    const rank = Math.max(batchA.length, batchB.length);
    const pa = [...Array(rank - batchA.length).fill(1), ...batchA] as number[];
    const pb = [...Array(rank - batchB.length).fill(1), ...batchB] as number[];
    const batch = pa.map((d, i) => Math.max(d, pb[i]!));
    const [ta, tb, to] = [strides(pa), strides(pb), strides(batch)];
    const out: number[] = [];
    for (let t = 0; t < size(batch); t++) {
      let offA = 0;
      let offB = 0;
      for (let d = 0; d < rank; d++) {
        const idx = Math.floor(t / to[d]!) % batch[d]!;
        offA += pa[d] === 1 ? 0 : idx * ta[d]!;
        offB += pb[d] === 1 ? 0 : idx * tb[d]!;
      }
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) {
            const av = a[offA * m * k + (transA ? q * m + i : i * k + q)]!;
            const bv = b[offB * k * n + (transB ? j * k + q : q * n + j)]!;
            s += av * bv;
          }
          out.push(s);
        }
      }
    }
    return out;
  };
}

/** Rows of `cols` values mapped by f. */
export function rowwise(cols: number, f: (row: number[]) => number[]) {
  return (x: number[]): number[] => {
    const out: number[] = [];
    for (let r = 0; r < x.length / cols; r++) out.push(...f(x.slice(r * cols, (r + 1) * cols)));
    return out;
  };
}

export const softmaxRow = (row: number[]): number[] => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

export const logSoftmaxRow = (row: number[]): number[] => softmaxRow(row).map(Math.log);

export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

// Constant rope angles for positions [[0..3], [5..8]] with theta 10000, head dim 8.
export function ropeAngles(): { cos: Tensor; sin: Tensor } {
  const cos: number[] = [];
  const sin: number[] = [];
  for (const start of [0, 5]) {
    for (let t = 0; t < 4; t++) {
      for (let i = 0; i < 4; i++) {
        const angle = (start + t) * 10000 ** (-i / 4);
        cos.push(Math.cos(angle));
        sin.push(Math.sin(angle));
      }
    }
  }
  return { cos: tensor(cos, [2, 4, 4]), sin: tensor(sin, [2, 4, 4]) };
}

// Padding mask for attention: row 0 left-padded by 2, row 1 complete.
export const padMask = [
  [0, 0, 1, 1, 1],
  [1, 1, 1, 1, 1],
];
