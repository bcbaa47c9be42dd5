import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../../src/engine/random.js";
// The reference is the ts backend's gemm.
import { tsGemm as referenceGemm } from "../../../src/engine/backends/ts-gemm.js";
import { gemmDefaults, type GemmOptions } from "../../../src/engine/kernels.js";
import { expectClose, native, normals, variants } from "./helpers.js";

interface Case {
  label: string;
  options: GemmOptions;
  /** Starting contents of C (defaults to random normals). */
  fillC?: (c: Float32Array) => void;
}

function span(batch: number, stride: number, size: number): number {
  return batch === 0 ? 0 : (batch - 1) * stride + size;
}

interface Inputs {
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
  expected: Float32Array;
  /** |alpha|·Σ|a||b| + |beta·c0| per element of C: the scale float32 rounding errors grow with. */
  bound: Float32Array;
}

const inputCache = new Map<string, Inputs>();

/** Random inputs and the reference result, computed once per case and shared by all variants. */
function inputsFor(testCase: Case): Inputs {
  const cached = inputCache.get(testCase.label);
  if (cached) return cached;
  const o = gemmDefaults(testCase.options);
  const rng = new Rng(inputCache.size + 1);
  const a = normals(rng, span(o.batch, o.strideA, o.m * o.k));
  const b = normals(rng, span(o.batch, o.strideB, o.k * o.n));
  const c0 = normals(rng, span(o.batch, o.strideC, o.m * o.n));
  testCase.fillC?.(c0);
  const expected = c0.slice();
  referenceGemm(a, b, expected, o);
  const bound = c0.map((v) => Math.abs(o.beta * v));
  if (o.beta === 0) bound.fill(0);
  referenceGemm(a.map(Math.abs), b.map(Math.abs), bound, { ...o, alpha: Math.abs(o.alpha), beta: o.beta === 0 ? 0 : 1 });
  const inputs = { a, b, c0, expected, bound };
  inputCache.set(testCase.label, inputs);
  return inputs;
}

const sizes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 33],
  [7, 1, 65],
  [33, 65, 7],
  [65, 33, 257],
  [257, 7, 1],
  [7, 257, 33],
  [96, 384, 256], // whole cache blocks of the avx2 variant
  [130, 530, 600], // several row, column and depth blocks, all with ragged edges
];

const transposeCases: Case[] = sizes.flatMap(([m, n, k]) =>
  [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ].map(([transA, transB]) => ({
    label: `m=${m} n=${n} k=${k} ${transA ? "T" : "N"}${transB ? "T" : "N"}`,
    options: { m, n, k, transA, transB },
  })),
);

const otherCases: Case[] = [
  { label: "alpha and beta with k over several depth blocks", options: { m: 37, n: 45, k: 600, alpha: -0.5, beta: 0.75 } },
  { label: "alpha and beta, both transposed", options: { m: 19, n: 70, k: 300, alpha: 2, beta: -1, transA: true, transB: true } },
  {
    label: "beta = 0 overwrites C without reading it (NaN in C does not propagate)",
    options: { m: 20, n: 33, k: 17 },
    fillC: (c) => c.fill(Number.NaN),
  },
  { label: "k = 0 scales C by beta", options: { m: 5, n: 6, k: 0, beta: 0.5 } },
  { label: "thin M, wide N (tasks split the columns)", options: { m: 5, n: 700, k: 300, transB: true } },
  {
    label: "A broadcast over the batch, gaps between the C matrices",
    options: { m: 31, n: 40, k: 27, batch: 3, strideA: 0, strideC: 31 * 40 + 5, beta: 1 },
  },
  {
    label: "B broadcast over many small matrices (one task per matrix)",
    options: { m: 9, n: 17, k: 13, batch: 6, strideB: 0, transB: true },
  },
  {
    label: "a few large matrices (each split across threads)",
    options: { m: 100, n: 120, k: 90, batch: 3, transA: true, alpha: 0.25 },
  },
];

describe.skipIf(native === undefined)("native gemm", () => {
  const kernels = native!;
  afterAll(() => kernels.useVariant(kernels.variants[0]!));

  describe.each(variants)("variant %s", (variant) => {
    beforeAll(() => kernels.useVariant(variant));

    it.each([...transposeCases, ...otherCases])("$label", (testCase) => {
      const { a, b, c0, expected, bound } = inputsFor(testCase);
      const c = c0.slice();
      kernels.gemm(a, b, c, testCase.options);
      expectClose(c, expected, { rtol: 2e-6, atol: 1e-6 }, bound);
    });

    it("leaves the gaps between strided C matrices untouched", () => {
      const o = { m: 6, n: 11, k: 40, batch: 4, strideC: 6 * 11 + 3 };
      const rng = new Rng(7);
      const c = new Float32Array(span(o.batch, o.strideC, o.m * o.n)).fill(12345);
      kernels.gemm(normals(rng, o.batch * o.m * o.k), normals(rng, o.batch * o.k * o.n), c, o);
      for (let t = 0; t < o.batch - 1; t++) {
        const gap = c.subarray(t * o.strideC + o.m * o.n, (t + 1) * o.strideC);
        expect(Array.from(gap)).toEqual([12345, 12345, 12345]);
      }
      expect(c[o.m * o.n - 1]).not.toBe(12345);
    });

    it("alpha = 0 gives beta·C without reading A or B", () => {
      const a = new Float32Array(4 * 3).fill(Number.NaN);
      const b = new Float32Array(3 * 5).fill(Number.NaN);
      const c = Float32Array.from({ length: 20 }, (_, i) => i);
      kernels.gemm(a, b, c, { m: 4, n: 5, k: 3, alpha: 0, beta: 2 });
      expect(Array.from(c)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    });
  });
});
