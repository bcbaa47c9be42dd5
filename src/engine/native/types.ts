/**
 * The kernel signatures shared by the native addon and its TypeScript reference.
 *
 * Every kernel writes into caller-provided Float32Arrays and returns nothing. Outputs may be the very
 * same buffer as the kernel's row data input (e.g. `out === x`), never a partial overlap; sizes are
 * checked and a mismatch throws a RangeError whose message starts with the kernel's name.
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

export interface Kernels {
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, options: GemmOptions): void;
  /** out = x / sqrt(mean(x²) + eps) · weight, per row of `cols` values. */
  rmsnorm(x: Float32Array, weight: Float32Array, out: Float32Array, rows: number, cols: number, eps: number): void;
  /** Overwrites dx; accumulates into dWeight. */
  rmsnormBackward(
    grad: Float32Array,
    x: Float32Array,
    weight: Float32Array,
    dx: Float32Array,
    dWeight: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** out = silu(gate) · up (SwiGLU), elementwise. */
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  /** Overwrites dGate and dUp. */
  siluMulBackward(grad: Float32Array, gate: Float32Array, up: Float32Array, dGate: Float32Array, dUp: Float32Array): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** dx = y ⊙ (grad − Σ grad ⊙ y), y being the softmax output. Overwrites dx. */
  softmaxBackward(grad: Float32Array, y: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  logSoftmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** dx = grad − exp(y) · Σ grad, y being the log-softmax output. Overwrites dx. */
  logSoftmaxBackward(grad: Float32Array, y: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  rope(x: Float32Array, cos: Float32Array, sin: Float32Array, out: Float32Array, options: RopeOptions): void;
  /** The transpose of `rope` (rotation by −θ): maps the output gradient to the input gradient. Overwrites dx. */
  ropeBackward(grad: Float32Array, cos: Float32Array, sin: Float32Array, dx: Float32Array, options: RopeOptions): void;
}

/** The instruction set a kernel variant is compiled for. */
export type Isa = "avx512" | "avx2" | "scalar";

/**
 * Compiled kernel variants. "avx2-wide" is the avx512 variant's source configuration (8×32 GEMM tile,
 * 16-float vectors) built for AVX2, so that CPUs without AVX-512 still run and test that code.
 */
export type KernelVariant = "avx512" | "avx2" | "avx2-wide" | "scalar";

export interface NativeKernels extends Kernels {
  /** Threads the kernels use, the caller included: SEAPO_THREADS, else the core count. */
  readonly threads: number;
  /** The active variant's instruction set. */
  readonly isa: Isa;
  /** The active variant; by default the first of `variants`. */
  readonly variant: KernelVariant;
  /** The variants this CPU can run, fastest first. */
  readonly variants: readonly KernelVariant[];
  /** Switches variant for the whole process (tests and benchmarks compare them this way). */
  useVariant(name: KernelVariant): void;
}
