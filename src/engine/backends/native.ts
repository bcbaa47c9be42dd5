/**
 * The native backend: the TypeScript backend with every kernel of the contract (`KERNEL_NAMES`:
 * gemm and the fused kernels) replaced by the C++ addon's (`src/engine/native`), and binary ops on the
 * common shapes routed to its `elementwise` kernel. Unary, reduce and movement hooks stay in TypeScript;
 * moving one over means adding it to the contract in `kernels.ts`.
 */
import type { Backend } from "../backend-interface.js";
import { ELEMENTWISE_OPS, pickKernels, type ElementwiseOp } from "../kernels.js";
import { frozenAwareGemm, loadNativeKernels, nativeLoadError, type NativeKernels } from "../native/index.js";
import { tsBackend } from "./ts.js";

/** Whether b, right-aligned to out's shape, is out's trailing axes after leading 1s: it repeats along out. */
function repeatsAlong(bShape: readonly number[], outShape: readonly number[]): boolean {
  let i = 0;
  while (i < bShape.length && bShape[i] === 1) i++;
  for (; i < bShape.length; i++) if (bShape[i] !== outShape[i]) return false;
  return true;
}

const isElementwise = (op: string): op is ElementwiseOp => (ELEMENTWISE_OPS as readonly string[]).includes(op);

function nativeBackend(k: NativeKernels): Backend {
  const kernels = pickKernels(k);
  return {
    ...tsBackend,
    name: "native",
    ...kernels,
    // gemm multiplies frozen weights from bf16 copies when SEAPO_GEMM_BF16=1 asks (native/frozen.ts).
    gemm: frozenAwareGemm(k),
    // The common shapes (same shape, a bias row, a scalar) go to the vectorised kernel; the rest stays in TS.
    binary(op, a, aShape, b, bShape, out, outShape) {
      if (isElementwise(op) && a.length === out.length && b.length > 0 && repeatsAlong(bShape, outShape))
        kernels.elementwise(op, a, b, out);
      else tsBackend.binary(op, a, aShape, b, bShape, out, outShape);
    },
  };
}

let cached: Backend | null | undefined;

/** The native backend, or undefined when the addon is not built (see nativeBackendError). */
export function loadNativeBackend(): Backend | undefined {
  if (cached === undefined) {
    const kernels = loadNativeKernels();
    cached = kernels ? nativeBackend(kernels) : null;
  }
  return cached ?? undefined;
}

/** Why the native backend is unavailable, if it is. */
export function nativeBackendError(): string | undefined {
  return nativeLoadError();
}
