/**
 * The native backend: the TypeScript backend with its heavy hooks (gemm and the fused kernels)
 * replaced by the C++ addon's (`src/engine/native`). Elementwise, reduce and movement hooks stay in
 * TypeScript; moving one over is a one-line change here once the addon has the kernel.
 */
import type { Backend } from "../backend.js";
import { loadNativeKernels, nativeLoadError, type NativeKernels } from "../native/index.js";
import { tsBackend } from "./ts.js";

function nativeBackend(k: NativeKernels): Backend {
  return {
    ...tsBackend,
    name: "native",
    gemm: (a, b, c, p) => k.gemm(a, b, c, p),
    rmsnorm: (x, weight, out, rows, cols, eps) => k.rmsnorm(x, weight, out, rows, cols, eps),
    rmsnormBackward: (grad, x, weight, dx, dWeight, rows, cols, eps) =>
      k.rmsnormBackward(grad, x, weight, dx, dWeight, rows, cols, eps),
    // Our layout: x [B, T, H, D], cos/sin [B, T, D/2].
    rope: (x, cos, sin, out, dims) =>
      k.rope(x, cos, sin, out, { ...dims, layout: "bthd", tableWidth: "half", tableBatched: true }),
    softmax: (x, out, rows, cols) => k.softmax(x, out, rows, cols),
    softmaxBackward: (grad, y, dx, rows, cols) => k.softmaxBackward(grad, y, dx, rows, cols),
    logSoftmax: (x, out, rows, cols) => k.logSoftmax(x, out, rows, cols),
    logSoftmaxBackward: (grad, y, dx, rows, cols) => k.logSoftmaxBackward(grad, y, dx, rows, cols),
    siluMul: (a, b, out) => k.siluMul(a, b, out),
    siluMulBackward: (grad, a, b, da, db) => k.siluMulBackward(grad, a, b, da, db),
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
