/**
 * The fused kernels in TypeScript: the ts backend's hooks and the reference the native addon is tested
 * against (test/engine/native). Same signatures and size checks as the addon; every kernel but gemm
 * also accepts Float64Arrays, so a test can take finite differences in double precision. Sums over a
 * row accumulate in float64 locals.
 */
import { ELEMENTWISE_OPS, type ElementwiseOp, type Kernels, type RopeOptions } from "../kernels.js";
import { tsGemm } from "./ts-gemm.js";

/** Float32Array for real use; Float64Array for finite-difference checks. */
export type Floats = Float32Array | Float64Array;

/** Throws the addon's RangeError when a buffer's length is not the expected one. */
function expectLength(kernel: string, name: string, buffer: Floats, expected: number, what: string): void {
  if (buffer.length !== expected) {
    throw new RangeError(`${kernel}: ${name} has ${buffer.length} elements, expected ${what} = ${expected}`);
  }
}

/** Checks that every named buffer holds `expected` elements. */
function expectLengths(kernel: string, buffers: Record<string, Floats>, expected: number, what: string): void {
  for (const [name, buffer] of Object.entries(buffers)) expectLength(kernel, name, buffer, expected, what);
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function rowMax(x: Floats, base: number, cols: number): number {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) if (x[base + j]! > max) max = x[base + j]!;
  return max;
}

function rmsnorm(x: Floats, weight: Floats, out: Floats, rows: number, cols: number, eps: number): void {
  expectLengths("rmsnorm", { x }, rows * cols, "rows·cols");
  expectLength("rmsnorm", "weight", weight, cols, "cols");
  expectLength("rmsnorm", "out", out, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let ss = 0;
    for (let j = 0; j < cols; j++) ss += x[base + j]! * x[base + j]!;
    const scale = 1 / Math.sqrt(ss / cols + eps);
    for (let j = 0; j < cols; j++) out[base + j] = x[base + j]! * scale * weight[j]!;
  }
}

function rmsnormBackward(
  grad: Floats,
  x: Floats,
  weight: Floats,
  dx: Floats,
  dWeight: Floats,
  rows: number,
  cols: number,
  eps: number,
): void {
  expectLengths("rmsnormBackward", { grad, x }, rows * cols, "rows·cols");
  expectLength("rmsnormBackward", "weight", weight, cols, "cols");
  expectLength("rmsnormBackward", "dx", dx, rows * cols, "rows·cols");
  expectLength("rmsnormBackward", "dWeight", dWeight, cols, "cols");
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
}

/** Rotates (or, as the adjoint, rotates back) every head vector of x into out. */
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
  const second = tableWidth === "full" ? half : 0; // where cos₂/sin₂ start within a table row
  const tableWhat = `${tableBatched ? "batch·seq" : "seq"}${tableWidth === "full" ? "·2·half" : "·half"}`;
  const size = batch * seq * heads * dim;
  expectLength(kernel, adjoint ? "grad" : "x", x, size, "batch·seq·heads·2·half");
  expectLengths(kernel, { cos, sin }, (tableBatched ? batch : 1) * seq * width, tableWhat);
  expectLength(kernel, adjoint ? "dx" : "out", out, size, "batch·seq·heads·2·half");
  // The adjoint (rotation by −θ) swaps which sine multiplies which half and flips its sign.
  const sign = adjoint ? -1 : 1;
  const sin1 = adjoint ? second : 0;
  const sin2 = adjoint ? 0 : second;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const row = ((tableBatched ? b * seq : 0) + t) * width;
      for (let h = 0; h < heads; h++) {
        const base = (layout === "bthd" ? (b * seq + t) * heads + h : (b * heads + h) * seq + t) * dim;
        for (let i = 0; i < half; i++) {
          const x1 = x[base + i]!;
          const x2 = x[base + half + i]!;
          const s1 = sign * sin[row + sin1 + i]!;
          const s2 = sign * sin[row + sin2 + i]!;
          out[base + i] = x1 * cos[row + i]! - x2 * s1;
          out[base + half + i] = x2 * cos[row + second + i]! + x1 * s2;
        }
      }
    }
  }
}

function softmax(x: Floats, out: Floats, rows: number, cols: number): void {
  expectLengths("softmax", { x, out }, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const max = rowMax(x, base, cols);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[base + j]! - max);
      out[base + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) out[base + j]! *= inv;
  }
}

function softmaxBackward(grad: Floats, y: Floats, dx: Floats, rows: number, cols: number): void {
  expectLengths("softmaxBackward", { grad, y, dx }, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += grad[base + j]! * y[base + j]!;
    for (let j = 0; j < cols; j++) dx[base + j] = y[base + j]! * (grad[base + j]! - dot);
  }
}

function logSoftmax(x: Floats, out: Floats, rows: number, cols: number): void {
  expectLengths("logSoftmax", { x, out }, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const max = rowMax(x, base, cols);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[base + j]! - max);
    const shift = max + Math.log(sum);
    for (let j = 0; j < cols; j++) out[base + j] = x[base + j]! - shift;
  }
}

function logSoftmaxBackward(grad: Floats, y: Floats, dx: Floats, rows: number, cols: number): void {
  expectLengths("logSoftmaxBackward", { grad, y, dx }, rows * cols, "rows·cols");
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let total = 0;
    for (let j = 0; j < cols; j++) total += grad[base + j]!;
    for (let j = 0; j < cols; j++) dx[base + j] = grad[base + j]! - Math.exp(y[base + j]!) * total;
  }
}

function siluMul(gate: Floats, up: Floats, out: Floats): void {
  expectLengths("siluMul", { up, out }, gate.length, "gate.length");
  for (let i = 0; i < gate.length; i++) out[i] = gate[i]! * sigmoid(gate[i]!) * up[i]!;
}

function siluMulBackward(grad: Floats, gate: Floats, up: Floats, dGate: Floats, dUp: Floats): void {
  expectLengths("siluMulBackward", { gate, up, dGate, dUp }, grad.length, "grad.length");
  for (let i = 0; i < gate.length; i++) {
    const x = gate[i]!;
    const s = sigmoid(x);
    const g = grad[i]!;
    dGate[i] = g * up[i]! * s * (1 + x * (1 - s));
    dUp[i] = g * x * s;
  }
}

const ELEMENTWISE: Record<ElementwiseOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
};

function elementwise(op: ElementwiseOp, a: Floats, b: Floats, out: Floats): void {
  const f = ELEMENTWISE[op];
  if (f === undefined) {
    const names = ELEMENTWISE_OPS.map((name) => `"${name}"`);
    throw new RangeError(`elementwise: op must be ${names.slice(0, -1).join(", ")} or ${names.at(-1)}, got "${op}"`);
  }
  expectLength("elementwise", "out", out, a.length, "a.length");
  if (a.length > 0 && (b.length === 0 || a.length % b.length !== 0))
    throw new RangeError(`elementwise: b has ${b.length} elements, which does not divide a's ${a.length}`);
  const period = b.length;
  for (let i = 0; i < a.length; i++) out[i] = f(a[i]!, b[i % period]!);
}

/** The kernels, one per name of the contract (`KERNEL_NAMES`). */
export const tsKernels = {
  gemm: tsGemm,
  rmsnorm,
  rmsnormBackward,
  siluMul,
  siluMulBackward,
  softmax,
  softmaxBackward,
  logSoftmax,
  logSoftmaxBackward,
  rope: (x: Floats, cos: Floats, sin: Floats, out: Floats, options: RopeOptions) =>
    applyRope("rope", x, cos, sin, out, options, false),
  ropeBackward: (grad: Floats, cos: Floats, sin: Floats, dx: Floats, options: RopeOptions) =>
    applyRope("ropeBackward", grad, cos, sin, dx, options, true),
  elementwise,
} satisfies Kernels;
