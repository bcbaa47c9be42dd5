/**
 * The fused-kernel contract, declared once: `KERNEL_SIGNATURES` names every kernel and gives its
 * signature. The `Kernels` type, the fused hooks of `Backend` (backend.ts), the functions the native
 * loader demands of the addon (native/index.ts) and the native backend's overrides all come from it.
 * `backends/ts-kernels.ts` is the TypeScript implementation and the reference the native addon is
 * tested against; `native/kernels.h` and `native/addon.cc` implement it in C++, and a test checks that
 * the addon exports exactly these names.
 *
 * Every kernel writes into caller-provided buffers and returns nothing. Outputs may be the very same
 * buffer as the kernel's row data input (e.g. `out === x`), never a partial overlap; sizes are checked
 * and a mismatch throws a RangeError whose message starts with the kernel's name.
 */

/** C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] for b < batch, all row-major; op(X) = Xᵀ when trans is set. */
export interface GemmOptions {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Columns of op(A), rows of op(B). */
  k: number;
  /** A is stored [k, m] and used transposed (default false). */
  transA?: boolean;
  /** B is stored [n, k] and used transposed (default false). */
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0; with beta = 0, C is only written (NaN already in C does not propagate). */
  beta?: number;
  /** Default 1. */
  batch?: number;
  /** Elements between consecutive A matrices; 0 broadcasts one A over the batch. Default m·k. */
  strideA?: number;
  /** Elements between consecutive B matrices; 0 broadcasts. Default k·n. */
  strideB?: number;
  /** Elements between consecutive C matrices; at least m·n when batch > 1. Default m·n. */
  strideC?: number;
}

/** GemmOptions with every default filled in. */
export function gemmDefaults(o: GemmOptions): Required<GemmOptions> {
  const { m, n, k, transA = false, transB = false, alpha = 1, beta = 0, batch = 1 } = o;
  const { strideA = m * k, strideB = k * n, strideC = m * n } = o;
  return { m, n, k, transA, transB, alpha, beta, batch, strideA, strideB, strideC };
}

/**
 * Rotate-half RoPE (Hugging Face's convention) over head vectors of 2·half elements:
 * y[:half] = x[:half]·cos₁ − x[half:]·sin₁ and y[half:] = x[half:]·cos₂ + x[:half]·sin₂,
 * where cos₂ = cos₁ for half-width tables and the table's second half for full-width ones.
 */
export interface RopeOptions {
  batch: number;
  seq: number;
  heads: number;
  /** Half the head dimension. */
  half: number;
  /** Order of x: "bthd" = [batch, seq, heads, 2·half] (default), "bhtd" = [batch, heads, seq, 2·half]. */
  layout?: "bthd" | "bhtd";
  /** cos/sin rows of `half` values (default) or of 2·half values as Hugging Face stores them. */
  tableWidth?: "half" | "full";
  /** cos/sin are [batch, seq, width] (default true) or one [seq, width] table shared by the batch. */
  tableBatched?: boolean;
}

type F32 = Float32Array;

/** The binary ops the `elementwise` kernel runs (the addon maps each name to its own code). */
export const ELEMENTWISE_OPS = ["add", "sub", "mul", "div"] as const;
export type ElementwiseOp = (typeof ELEMENTWISE_OPS)[number];

type RowsFn = (x: F32, out: F32, rows: number, cols: number) => void;
type RowsBackwardFn = (grad: F32, y: F32, dx: F32, rows: number, cols: number) => void;
type RopeFn = (x: F32, cos: F32, sin: F32, out: F32, options: RopeOptions) => void;

/** Carries a signature in the table below; the value itself is never called. */
function signature<F extends (...args: never[]) => void>(): F | undefined {
  return undefined;
}

/** The kernel list: names in the order the addon registers them, each with its signature. */
const KERNEL_SIGNATURES = {
  gemm: signature<(a: F32, b: F32, c: F32, options: GemmOptions) => void>(),
  /** out = x / sqrt(mean(x²) + eps) · weight, per row of `cols` values. */
  rmsnorm: signature<(x: F32, weight: F32, out: F32, rows: number, cols: number, eps: number) => void>(),
  /** Overwrites dx; accumulates into dWeight. */
  rmsnormBackward:
    signature<
      (grad: F32, x: F32, weight: F32, dx: F32, dWeight: F32, rows: number, cols: number, eps: number) => void
    >(),
  /** out = silu(gate) · up (SwiGLU), elementwise. */
  siluMul: signature<(gate: F32, up: F32, out: F32) => void>(),
  /** Overwrites dGate and dUp. */
  siluMulBackward: signature<(grad: F32, gate: F32, up: F32, dGate: F32, dUp: F32) => void>(),
  softmax: signature<RowsFn>(),
  /** dx = y ⊙ (grad − Σ grad ⊙ y), y being the softmax output. Overwrites dx. */
  softmaxBackward: signature<RowsBackwardFn>(),
  logSoftmax: signature<RowsFn>(),
  /** dx = grad − exp(y) · Σ grad, y being the log-softmax output. Overwrites dx. */
  logSoftmaxBackward: signature<RowsBackwardFn>(),
  rope: signature<RopeFn>(),
  /** The transpose of `rope` (rotation by −θ): maps the output gradient to the input gradient. Overwrites dx. */
  ropeBackward: signature<RopeFn>(),
  /**
   * out[i] = a[i] op b[i mod b.length], b.length dividing a.length: a same-shaped, row or scalar b.
   * out may be a, or b when b is not repeated.
   */
  elementwise: signature<(op: ElementwiseOp, a: F32, b: F32, out: F32) => void>(),
};

export type KernelName = keyof typeof KERNEL_SIGNATURES;

/** The fused kernels (gemm included) every backend and the native addon provide. */
export type Kernels = { [K in KernelName]-?: NonNullable<(typeof KERNEL_SIGNATURES)[K]> };

/** Every kernel's name, in the table's order. */
export const KERNEL_NAMES = Object.keys(KERNEL_SIGNATURES) as readonly KernelName[];

/** The kernels of `source` (e.g. the native addon), each bound to it, as one table. */
export function pickKernels(source: Kernels): Kernels {
  const picked: Partial<Record<KernelName, unknown>> = {};
  for (const name of KERNEL_NAMES) picked[name] = source[name].bind(source);
  return picked as Kernels;
}
