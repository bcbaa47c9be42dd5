/**
 * The native addon's own surface: the kernels of the contract (`../kernels.ts`) plus variant control.
 */
import type { GemmOptions, Kernels } from "../kernels.js";

export type { GemmOptions, Kernels, RopeOptions } from "../kernels.js";

/** The instruction set a kernel variant is compiled for. */
export type Isa = "avx512" | "avx2" | "scalar";

/**
 * Compiled kernel variants, fastest first. "avx512-bf16" is "avx512" plus AVX512-BF16's vdpbf16ps for
 * bf16 products (`gemmBf16` with `bf16Dot`). "avx2-wide" is the avx512 variant's source configuration
 * (8×32 GEMM tile, 16-float vectors) built for AVX2, so that CPUs without AVX-512 still run and test that code.
 */
export type KernelVariant = "avx512-bf16" | "avx512" | "avx2" | "avx2-wide" | "scalar";

/** Every variant name, fastest first; `SEAPO_NATIVE_ISA` takes one of these (or "auto"). */
export const KERNEL_VARIANTS: readonly KernelVariant[] = ["avx512-bf16", "avx512", "avx2", "avx2-wide", "scalar"];

/** gemm's options, for a B held as bf16 bit patterns. */
export interface GemmBf16Options extends GemmOptions {
  /**
   * Round A to bf16 too and sum bf16 pair products in f32 (vdpbf16ps where `bf16Native`, an exact f32
   * emulation of it elsewhere). Default false: B is widened to f32 and the product is the f32 GEMM's.
   */
  bf16Dot?: boolean;
}

/** gemmPacked's options: one product, B the packed weight's Wᵀ. */
export type GemmPackedOptions = Omit<GemmOptions, "transB" | "batch" | "strideA" | "strideB" | "strideC">;

export interface NativeKernels extends Kernels {
  /** Threads the kernels use, the caller included: SEAPO_THREADS, else the core count. */
  readonly threads: number;
  /** The active variant's instruction set. */
  readonly isa: Isa;
  /** The active variant: SEAPO_NATIVE_ISA's at load when set, else the first of `variants`. */
  readonly variant: KernelVariant;
  /** Whether the active variant multiplies bf16 pairs in hardware (AVX512-BF16). */
  readonly bf16Native: boolean;
  /** The variants this CPU can run, fastest first. */
  readonly variants: readonly KernelVariant[];
  /** Switches variant for the whole process (tests and benchmarks compare them this way). */
  useVariant(name: KernelVariant): void;
  /** gemm with B as bf16 bit patterns (the upper 16 bits of each f32), accumulating in f32. */
  gemmBf16(a: Float32Array, b: Uint16Array, c: Float32Array, options: GemmBf16Options): void;
  /**
   * W [rows, cols] (f32, or bf16 bits widened exactly) packed once into the active variant's GEMM panels
   * as op(B) = Wᵀ: a header naming the layout, then the panels. As many floats as W, plus padding.
   */
  packWeight(w: Float32Array | Uint16Array, rows: number, cols: number): Float32Array;
  /**
   * c = alpha·op(a)·Wᵀ + beta·c with W from packWeight (n = rows, k = cols): gemm's result with transB to
   * the bit, without packing W per call. A packing of another variant or shape is refused.
   */
  gemmPacked(a: Float32Array, packed: Float32Array, c: Float32Array, options: GemmPackedOptions): void;
}
