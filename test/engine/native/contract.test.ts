import { describe, expect, it } from "vitest";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { tsKernels } from "../../../src/engine/backends/ts-kernels.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { KERNEL_NAMES } from "../../../src/engine/kernels.js";
import { KERNEL_FUNCTIONS } from "../../../src/engine/native/index.js";
import { native } from "./helpers.js";

// The kernel contract is declared once (KERNEL_SIGNATURES in src/engine/kernels.ts); these tests hold
// the C++ side (native/kernels.h, native/addon.cc) and both backends to it.
describe("the kernel contract", () => {
  it("names these kernels", () => {
    expect(KERNEL_NAMES).toEqual([
      "gemm",
      "rmsnorm",
      "rmsnormBackward",
      "siluMul",
      "siluMulBackward",
      "softmax",
      "softmaxBackward",
      "logSoftmax",
      "logSoftmaxBackward",
      "rope",
      "ropeBackward",
      "elementwise",
    ]);
    expect(KERNEL_FUNCTIONS).toEqual([...KERNEL_NAMES, "useVariant", "gemmBf16", "packWeight", "gemmPacked"]);
  });

  it("the ts backend's kernel hooks are the ts kernels", () => {
    expect(Object.keys(tsKernels)).toEqual(KERNEL_NAMES);
    for (const name of KERNEL_NAMES) expect(tsBackend[name]).toBe(tsKernels[name]);
  });

  it.skipIf(native === undefined)("the built addon exports exactly the contract's functions", () => {
    const exports = native as unknown as Record<string, unknown>;
    const functions = Object.keys(exports).filter((key) => typeof exports[key] === "function");
    expect(functions.sort()).toEqual([...KERNEL_FUNCTIONS].sort());
    const values = Object.keys(exports).filter((key) => typeof exports[key] !== "function");
    expect(values.sort()).toEqual(["abiVersion", "bf16Native", "isa", "threads", "variant", "variants"]);
  });

  it.skipIf(native === undefined)("the native backend replaces every kernel hook and binary, nothing else", () => {
    const nativeBackend = loadNativeBackend()!;
    for (const name of [...KERNEL_NAMES, "binary"] as const) expect(nativeBackend[name], name).not.toBe(tsBackend[name]);
    for (const name of ["unary", "reduce", "restride", "copyAxis", "gather", "scatterAdd"] as const) {
      expect(nativeBackend[name], name).toBe(tsBackend[name]);
    }
  });
});
