import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultAddonPath, loadNativeKernels, loadNativeKernelsFrom, nativeLoadError } from "../../../src/engine/native/index.js";
import { tsKernels } from "../../../src/engine/backends/ts-kernels.js";
import type { Kernels } from "../../../src/engine/native/index.js";
import { native } from "./helpers.js";

const f = (n: number): Float32Array => new Float32Array(n);

/** One call per kernel with exactly one buffer of the wrong length, and the words its message must contain. */
const badLengths: [string, (k: Kernels) => void, RegExp][] = [
  ["gemm", (k) => k.gemm(f(6), f(11), f(8), { m: 2, n: 4, k: 3 }), /^gemm: b has 11 elements, needs at least 12/],
  ["gemm (batch)", (k) => k.gemm(f(6), f(12), f(15), { m: 2, n: 4, k: 3, batch: 2, strideA: 0, strideB: 0 }), /^gemm: c has 15 elements, needs at least 16/],
  ["rmsnorm", (k) => k.rmsnorm(f(12), f(5), f(12), 3, 4, 1e-5), /^rmsnorm: weight has 5 elements, expected cols = 4/],
  ["rmsnormBackward", (k) => k.rmsnormBackward(f(12), f(12), f(4), f(11), f(4), 3, 4, 1e-5), /^rmsnormBackward: dx has 11 elements, expected rows·cols = 12/],
  ["siluMul", (k) => k.siluMul(f(5), f(6), f(5)), /^siluMul: up has 6 elements, expected gate.length = 5/],
  ["siluMulBackward", (k) => k.siluMulBackward(f(5), f(5), f(5), f(5), f(4)), /^siluMulBackward: dUp has 4 elements/],
  ["softmax", (k) => k.softmax(f(7), f(6), 2, 3), /^softmax: x has 7 elements, expected rows·cols = 6/],
  ["softmaxBackward", (k) => k.softmaxBackward(f(6), f(5), f(6), 2, 3), /^softmaxBackward: y has 5 elements/],
  ["logSoftmax", (k) => k.logSoftmax(f(6), f(9), 2, 3), /^logSoftmax: out has 9 elements/],
  ["logSoftmaxBackward", (k) => k.logSoftmaxBackward(f(1), f(6), f(6), 2, 3), /^logSoftmaxBackward: grad has 1 elements/],
  ["rope", (k) => k.rope(f(24), f(6), f(5), f(24), { batch: 1, seq: 3, heads: 2, half: 2, tableWidth: "full", tableBatched: false }), /^rope: cos has 6 elements, expected .* = 12/],
  ["ropeBackward", (k) => k.ropeBackward(f(24), f(6), f(6), f(23), { batch: 1, seq: 3, heads: 2, half: 2 }), /^ropeBackward: dx has 23 elements/],
  ["elementwise", (k) => k.elementwise("add", f(6), f(6), f(5)), /^elementwise: out has 5 elements, expected a.length = 6/],
  ["elementwise (period)", (k) => k.elementwise("mul", f(6), f(4), f(6)), /^elementwise: b has 4 elements, which does not divide a's 6/],
  ["elementwise (op)", (k) => k.elementwise("pow" as "add", f(2), f(1), f(2)), /^elementwise: op must be "add", "sub", "mul" or "div", got "pow"/],
];

describe("ts kernel argument checks", () => {
  it.each(badLengths)("%s: the ts kernel throws the same RangeError as the addon", (_name, call, message) => {
    expect(() => call(tsKernels)).toThrow(RangeError);
    expect(() => call(tsKernels)).toThrow(message);
  });
});

describe.skipIf(native === undefined)("native argument checks", () => {
  const k = native!;

  it.each(badLengths)("%s: a wrong length is a RangeError naming the kernel and the sizes", (_name, call, message) => {
    expect(() => call(k)).toThrow(RangeError);
    expect(() => call(k)).toThrow(message);
  });

  it("a buffer that is not a Float32Array is a TypeError", () => {
    const wrong = new Float64Array(6) as unknown as Float32Array;
    expect(() => k.softmax(wrong, f(6), 2, 3)).toThrow(new TypeError("softmax: x must be a Float32Array"));
    expect(() => k.gemm(f(1), f(1), f(1), { m: 1, n: 1, k: 1.5 })).toThrow(/^gemm: k must be a non-negative integer/);
    expect(() => k.rope(f(4), f(1), f(1), f(4), { batch: 1, seq: 1, heads: 1, half: 2, layout: "thbd" as "bthd" })).toThrow(
      /^rope: layout must be "bthd" or "bhtd"/,
    );
  });

  it("outputs may not overlap inputs, except as the very same buffer", () => {
    const arena = f(20);
    expect(() => k.gemm(arena.subarray(0, 4), f(4), arena.subarray(2, 6), { m: 2, n: 2, k: 2 })).toThrow(/^gemm: c overlaps a/);
    expect(() => k.gemm(f(4), f(4), f(4), { m: 2, n: 2, k: 2, batch: 2, strideC: 3 })).toThrow(/^gemm: strideC 3 is less than m·n = 4/);
    expect(() => k.softmax(arena.subarray(0, 6), arena.subarray(1, 7), 2, 3)).toThrow(/^softmax: out partially overlaps x/);
    expect(() => k.siluMulBackward(f(4), f(4), f(4), arena.subarray(0, 4), arena.subarray(2, 6))).toThrow(
      /^siluMulBackward: dGate overlaps dUp/,
    );
    expect(() => k.softmax(arena.subarray(0, 6), arena.subarray(0, 6), 2, 3)).not.toThrow();
  });

  it("zero sizes are accepted and write nothing", () => {
    const c = new Float32Array([7]);
    k.gemm(f(0), f(0), c, { m: 1, n: 1, k: 0, beta: 3 });
    expect(c[0]).toBe(21);
    k.gemm(f(0), f(5), f(0), { m: 0, n: 5, k: 1 });
    k.softmax(f(0), f(0), 0, 4);
    k.rmsnormBackward(f(0), f(0), f(4), f(0), f(4), 0, 4, 1e-5);
    k.rope(f(0), f(0), f(0), f(0), { batch: 0, seq: 3, heads: 2, half: 4 });
  });

  it("useVariant names the variants that can run", () => {
    expect(() => k.useVariant("mmx" as "scalar")).toThrow(/^useVariant: "mmx" is not available on this CPU \(available: .*scalar\)/);
    expect(k.variants).toContain("scalar");
    if (process.env.SEAPO_NATIVE_ISA === undefined) expect(k.variants[0]).toBe(k.variant);
    expect(["avx512", "avx2", "scalar"]).toContain(k.isa);
    expect(k.threads).toBeGreaterThanOrEqual(1);
  });
});

describe("loader", () => {
  it("reports why a missing addon is unavailable", () => {
    const result = loadNativeKernelsFrom("/nonexistent/seapo_native.node");
    expect(result.kernels).toBeUndefined();
    expect(result.error).toMatch(/\/nonexistent\/seapo_native\.node does not exist/);
  });

  it("reports a file that is not an addon", () => {
    const path = join(mkdtempSync(join(tmpdir(), "seapo-native-")), "fake.node");
    writeFileSync(path, "not a shared object");
    const result = loadNativeKernelsFrom(path);
    expect(result.kernels).toBeUndefined();
    expect(result.error).toMatch(/fake\.node failed to load: .*(ELF|too short)/);
  });

  it.skipIf(native === undefined)("fails the load with a clear reason when SEAPO_THREADS is invalid", () => {
    const probe = spawnSync(
      process.execPath,
      ["-e", "try { require(process.argv[1]) } catch (e) { console.log(e.message) }", defaultAddonPath()],
      { encoding: "utf8", env: { ...process.env, SEAPO_THREADS: "two" } },
    );
    expect(probe.stdout.trim()).toBe('SEAPO_THREADS must be an integer from 1 to 1024, got "two"');
  });

  it("loads the addon at the default path, or reports why that file did not load", () => {
    // An independent load of the same file: Node caches the module, so a loaded addon is the same object.
    const direct = loadNativeKernelsFrom(defaultAddonPath());
    expect(loadNativeKernels()).toBe(direct.kernels);
    expect(nativeLoadError()).toBe(direct.error);
    expect(defaultAddonPath()).toBe(join(process.cwd(), "build", "Release", "seapo_native.node"));
  });
});
