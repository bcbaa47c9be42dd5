/**
 * The reference kernels: naive loops that are obviously correct, the oracle for the native addon's
 * tests and benchmarks. Same signatures and size checks as the native kernels, and they also accept
 * Float64Arrays, so a test can take finite differences in double precision. Sums run in doubles.
 */
import type { GemmOptions, Kernels, RopeOptions } from "../../src/engine/native/types.js";

/** Float32Array for real use; Float64Array for finite-difference checks. */
export type Floats = Float32Array | Float64Array;

function expectLength(kernel: string, name: string, buffer: Floats, expected: number, what: string): void {
  if (buffer.length !== expected) {
    throw new RangeError(`${kernel}: ${name} has ${buffer.length} elements, expected ${what} = ${expected}`);
  }
}

function at(buffer: Floats, index: number): number {
  const value = buffer[index];
  if (value === undefined) throw new RangeError(`index ${index} is outside a buffer of ${buffer.length}`);
  return value;
}

export function gemm(a: Floats, b: Floats, c: Floats, options: GemmOptions): void {
  const { m, n, k } = options;
  const { transA = false, transB = false, alpha = 1, beta = 0, batch = 1 } = options;
  const { strideA = m * k, strideB = k * n, strideC = m * n } = options;
  if (batch > 1 && strideC < m * n) throw new RangeError(`gemm: strideC ${strideC} is less than m·n = ${m * n}`);
  for (const [name, buffer, stride, size] of [
    ["a", a, strideA, m * k],
    ["b", b, strideB, k * n],
    ["c", c, strideC, m * n],
  ] as const) {
    const needed = batch === 0 || size === 0 ? 0 : (batch - 1) * stride + size;
    if (buffer.length < needed)
      throw new RangeError(`gemm: ${name} has ${buffer.length} elements, needs at least ${needed}`);
  }
  for (let t = 0; t < batch; t++) {
    const a0 = t * strideA;
    const b0 = t * strideB;
    const c0 = t * strideC;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = at(a, a0 + (transA ? p * m + i : i * k + p));
          const bv = at(b, b0 + (transB ? j * k + p : p * n + j));
          sum += av * bv;
        }
        const index = c0 + i * n + j;
        c[index] = alpha * sum + (beta === 0 ? 0 : beta * at(c, index));
      }
    }
  }
}

function rmsScale(x: Floats, row: number, cols: number, eps: number): number {
  let squares = 0;
  for (let j = 0; j < cols; j++) squares += at(x, row * cols + j) ** 2;
  return 1 / Math.sqrt(squares / cols + eps);
}

export function rmsnorm(x: Floats, weight: Floats, out: Floats, rows: number, cols: number, eps: number): void {
  expectLength("rmsnorm", "x", x, rows * cols, "rows·cols");
  expectLength("rmsnorm", "weight", weight, cols, "cols");
  expectLength("rmsnorm", "out", out, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    const scale = rmsScale(x, r, cols, eps);
    for (let j = 0; j < cols; j++) out[r * cols + j] = at(x, r * cols + j) * scale * at(weight, j);
  }
}

export function rmsnormBackward(
  grad: Floats,
  x: Floats,
  weight: Floats,
  dx: Floats,
  dWeight: Floats,
  rows: number,
  cols: number,
  eps: number,
): void {
  const kernel = "rmsnormBackward";
  expectLength(kernel, "grad", grad, rows * cols, "rows·cols");
  expectLength(kernel, "x", x, rows * cols, "rows·cols");
  expectLength(kernel, "weight", weight, cols, "cols");
  expectLength(kernel, "dx", dx, rows * cols, "rows·cols");
  expectLength(kernel, "dWeight", dWeight, cols, "cols");
  for (let r = 0; r < rows; r++) {
    const s = rmsScale(x, r, cols, eps);
    let dot = 0; // Σ g·w·x
    for (let j = 0; j < cols; j++) dot += at(grad, r * cols + j) * at(weight, j) * at(x, r * cols + j);
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      dWeight[j] = at(dWeight, j) + at(grad, i) * at(x, i) * s;
      dx[i] = at(grad, i) * at(weight, j) * s - (at(x, i) * s ** 3 * dot) / cols;
    }
  }
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export function siluMul(gate: Floats, up: Floats, out: Floats): void {
  expectLength("siluMul", "up", up, gate.length, "gate.length");
  expectLength("siluMul", "out", out, gate.length, "gate.length");
  for (let i = 0; i < gate.length; i++) {
    const g = at(gate, i);
    out[i] = g * sigmoid(g) * at(up, i);
  }
}

export function siluMulBackward(grad: Floats, gate: Floats, up: Floats, dGate: Floats, dUp: Floats): void {
  for (const [name, buffer] of [
    ["gate", gate],
    ["up", up],
    ["dGate", dGate],
    ["dUp", dUp],
  ] as const) {
    expectLength("siluMulBackward", name, buffer, grad.length, "grad.length");
  }
  for (let i = 0; i < grad.length; i++) {
    const g = at(gate, i);
    const s = sigmoid(g);
    dGate[i] = at(grad, i) * at(up, i) * s * (1 + g * (1 - s));
    dUp[i] = at(grad, i) * g * s;
  }
}

function rowSoftmax(kernel: string, x: Floats, out: Floats, rows: number, cols: number, log: boolean): void {
  expectLength(kernel, "x", x, rows * cols, "rows·cols");
  expectLength(kernel, "out", out, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, at(x, r * cols + j));
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(at(x, r * cols + j) - max);
    for (let j = 0; j < cols; j++) {
      const shifted = at(x, r * cols + j) - max;
      out[r * cols + j] = log ? shifted - Math.log(sum) : Math.exp(shifted) / sum;
    }
  }
}

export function softmax(x: Floats, out: Floats, rows: number, cols: number): void {
  rowSoftmax("softmax", x, out, rows, cols, false);
}

export function logSoftmax(x: Floats, out: Floats, rows: number, cols: number): void {
  rowSoftmax("logSoftmax", x, out, rows, cols, true);
}

function rowSoftmaxBackward(
  kernel: string,
  grad: Floats,
  y: Floats,
  dx: Floats,
  rows: number,
  cols: number,
  log: boolean,
): void {
  expectLength(kernel, "grad", grad, rows * cols, "rows·cols");
  expectLength(kernel, "y", y, rows * cols, "rows·cols");
  expectLength(kernel, "dx", dx, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    let sum = 0; // softmax: Σ g·y; log-softmax: Σ g
    for (let j = 0; j < cols; j++) sum += at(grad, r * cols + j) * (log ? 1 : at(y, r * cols + j));
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      dx[i] = log ? at(grad, i) - Math.exp(at(y, i)) * sum : at(y, i) * (at(grad, i) - sum);
    }
  }
}

export function softmaxBackward(grad: Floats, y: Floats, dx: Floats, rows: number, cols: number): void {
  rowSoftmaxBackward("softmaxBackward", grad, y, dx, rows, cols, false);
}

export function logSoftmaxBackward(grad: Floats, y: Floats, dx: Floats, rows: number, cols: number): void {
  rowSoftmaxBackward("logSoftmaxBackward", grad, y, dx, rows, cols, true);
}

function applyRope(
  kernel: string,
  x: Floats,
  cos: Floats,
  sin: Floats,
  out: Floats,
  o: RopeOptions,
  adjoint: boolean,
): void {
  const { batch, seq, heads, half, layout = "bthd", tableWidth = "half", tableBatched = true } = o;
  const dim = 2 * half;
  const width = tableWidth === "full" ? dim : half;
  const tableLength = (tableBatched ? batch : 1) * seq * width;
  expectLength(kernel, adjoint ? "grad" : "x", x, batch * seq * heads * dim, "batch·seq·heads·2·half");
  expectLength(kernel, "cos", cos, tableLength, "table rows·width");
  expectLength(kernel, "sin", sin, tableLength, "table rows·width");
  expectLength(kernel, adjoint ? "dx" : "out", out, batch * seq * heads * dim, "batch·seq·heads·2·half");
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const row = ((tableBatched ? b * seq : 0) + t) * width;
      for (let h = 0; h < heads; h++) {
        const base = (layout === "bthd" ? (b * seq + t) * heads + h : (b * heads + h) * seq + t) * dim;
        for (let i = 0; i < half; i++) {
          const c1 = at(cos, row + i);
          const s1 = at(sin, row + i);
          const c2 = tableWidth === "full" ? at(cos, row + half + i) : c1;
          const s2 = tableWidth === "full" ? at(sin, row + half + i) : s1;
          const x1 = at(x, base + i);
          const x2 = at(x, base + half + i);
          out[base + i] = adjoint ? x1 * c1 + x2 * s2 : x1 * c1 - x2 * s1;
          out[base + half + i] = adjoint ? x2 * c2 - x1 * s1 : x2 * c2 + x1 * s2;
        }
      }
    }
  }
}

export function rope(x: Floats, cos: Floats, sin: Floats, out: Floats, options: RopeOptions): void {
  applyRope("rope", x, cos, sin, out, options, false);
}

export function ropeBackward(grad: Floats, cos: Floats, sin: Floats, dx: Floats, options: RopeOptions): void {
  applyRope("ropeBackward", grad, cos, sin, dx, options, true);
}

export const referenceKernels = {
  gemm,
  rmsnorm,
  rmsnormBackward,
  siluMul,
  siluMulBackward,
  softmax,
  softmaxBackward,
  logSoftmax,
  logSoftmaxBackward,
  rope,
  ropeBackward,
} satisfies Kernels;
