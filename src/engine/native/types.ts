/**
 * The native addon's own surface: the kernels of the contract (`../kernels.ts`) plus variant control.
 */
import type { Kernels } from "../kernels.js";

export type { GemmOptions, Kernels, RopeOptions } from "../kernels.js";

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
