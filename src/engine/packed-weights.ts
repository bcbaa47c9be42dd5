/**
 * Weights packed once for products with few rows: the decode steps of generation.
 *
 * A decode step multiplies one row per sequence by every weight of the model, and the native GEMM
 * would spend most of that step packing each weight into its panel layout, as it does on every call.
 * WeightPacks packs a weight on its first product (native backend only) and multiplies from the
 * packing afterwards: gemm's results to the bit, for a second copy of the weights while it lives.
 * A weight must not be written while a WeightPacks that packed it is in use (nothing refreshes it).
 */
import { activeNativeKernels, backend } from "./backend.js";
import type { GemmOptions } from "./kernels.js";

interface Pack {
  /** The variant whose layout the packing has (tests switch variants within a process). */
  variant: string;
  data: Float32Array;
}

export class WeightPacks {
  private readonly packs = new Map<Float32Array, Pack>();

  /** out[m, n] = x[m, k]·Wᵀ for W [n, k] (a Linear's weight): gemm with transB, packed on the native backend. */
  multiply(x: Float32Array, weight: Float32Array, out: Float32Array, { m, n, k }: Pick<GemmOptions, "m" | "n" | "k">) {
    const kernels = activeNativeKernels();
    if (kernels === undefined) return backend().gemm(x, weight, out, { m, n, k, transB: true });
    let pack = this.packs.get(weight);
    if (pack?.variant !== kernels.variant) {
      pack = { variant: kernels.variant, data: kernels.packWeight(weight, n, k) };
      this.packs.set(weight, pack);
    }
    kernels.gemmPacked(x, pack.data, out, { m, n, k });
  }
}
