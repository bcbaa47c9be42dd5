/**
 * The native backend: the TypeScript backend with every kernel of the contract (`KERNEL_NAMES`:
 * gemm and the fused kernels) replaced by the C++ addon's (`src/engine/native`). Elementwise, reduce
 * and movement hooks stay in TypeScript; moving one over means adding it to the contract in `kernels.ts`.
 */
import type { Backend } from "../backend-interface.js";
import { pickKernels } from "../kernels.js";
import { frozenAwareGemm, loadNativeKernels, nativeLoadError, type NativeKernels } from "../native/index.js";
import { tsBackend } from "./ts.js";

function nativeBackend(k: NativeKernels): Backend {
  // gemm multiplies frozen weights from bf16 copies when SEAPO_GEMM_BF16=1 asks (native/frozen.ts).
  return { ...tsBackend, name: "native", ...pickKernels(k), gemm: frozenAwareGemm(k) };
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
