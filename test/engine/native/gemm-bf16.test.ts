/**
 * gemmBf16: B held as bf16 bit patterns.
 * - Widened (default): the f32 GEMM of the widened B, bit for bit, on every variant.
 * - bf16Dot: A rounded to bf16 (nearest even) and pair products summed in f32, the arithmetic of
 *   AVX512-BF16's vdpbf16ps (in hardware on "avx512-bf16", emulated elsewhere). Checked (1) against a
 *   float64 product of the rounded A, to f32 accumulation accuracy, which pins the pair layout, odd k
 *   and edges; (2) against the f32 GEMM within the bound derived below, on the 34M model's shapes.
 *
 * The bound: bf16 keeps 8 significant bits, so rounding to nearest even moves a value by at most
 * 2⁻⁸ of itself (u = 2⁻⁸). With B exact in bf16 (a bf16 checkpoint), |ã·b − a·b| ≤ u·|a||b| per
 * product, so |C_bf16 − C_f32| ≤ (u + 2k·2⁻²⁴)·Σ|a||b| (the second term is both sums' f32 rounding).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gemmDefaults, type GemmOptions } from "../../../src/engine/kernels.js";
import { bf16ToF32, f32ToBf16 } from "../../../src/engine/io/safetensors.js";
import { Rng } from "../../../src/engine/random.js";
import { expectClose, native, normals, variants } from "./helpers.js";

const toBf16 = (x: Float32Array): Uint16Array => Uint16Array.from(x, f32ToBf16);
const widen = (h: Uint16Array): Float32Array => Float32Array.from(h, bf16ToF32);
const U = 2 ** -8;

/** α·Σ ã·b + β·C in float64 (ã = a rounded to bf16), and its scale α·Σ|ã||b| + |β·C|. */
function reference(
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array,
  options: GemmOptions,
): { out: Float64Array; bound: Float64Array } {
  const o = gemmDefaults(options);
  const aa = widen(toBf16(a));
  const out = new Float64Array(c0.length);
  const bound = new Float64Array(c0.length);
  for (let t = 0; t < o.batch; t++) {
    for (let i = 0; i < o.m; i++) {
      for (let j = 0; j < o.n; j++) {
        let sum = 0;
        let abs = 0;
        for (let p = 0; p < o.k; p++) {
          const x = aa[t * o.strideA + (o.transA ? p * o.m + i : i * o.k + p)]!;
          const y = b[t * o.strideB + (o.transB ? j * o.k + p : p * o.n + j)]!;
          sum += x * y;
          abs += Math.abs(x * y);
        }
        const at = t * o.strideC + i * o.n + j;
        out[at] = o.alpha * sum + (o.beta === 0 ? 0 : o.beta * c0[at]!);
        bound[at] = Math.abs(o.alpha) * abs + Math.abs(o.beta * c0[at]!);
      }
    }
  }
  return { out, bound };
}

/** How many elements differ in their bits (toEqual on large typed arrays is slow). */
function differingBits(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = Math.abs(x.length - y.length);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) count++;
  return count;
}

const cases: { label: string; options: GemmOptions }[] = [
  ...(
    [
      [1, 1, 1],
      [7, 33, 1],
      [33, 65, 7],
      [65, 33, 257],
      [130, 530, 301], // every block edge, two depth blocks, odd k
    ] as const
  ).flatMap(([m, n, k]) =>
    [false, true].flatMap((transA) =>
      [false, true].map((transB) => ({
        label: `m=${m} n=${n} k=${k} ${transA ? "T" : "N"}${transB ? "T" : "N"}`,
        options: { m, n, k, transA, transB },
      })),
    ),
  ),
  { label: "alpha, beta, batch, broadcast B", options: { m: 21, n: 40, k: 75, alpha: -0.5, beta: 0.75, batch: 3, strideB: 0, transB: true } },
];

describe.skipIf(native === undefined)("native gemmBf16", () => {
  const k = native!;
  const rng = new Rng(11);
  const data = cases.map(({ options }) => {
    const o = gemmDefaults(options);
    const span = (stride: number, size: number): number => (o.batch - 1) * stride + size;
    const a = normals(rng, span(o.strideA, o.m * o.k));
    const b16 = toBf16(normals(rng, span(o.strideB, o.k * o.n)));
    const b = widen(b16);
    const c0 = normals(rng, span(o.strideC, o.m * o.n));
    return { a, b16, b, c0, rounded: reference(a, b, c0, options) };
  });
  afterAll(() => k.useVariant(k.variants[0]!));

  describe.each(variants)("variant %s", (variant) => {
    beforeAll(() => k.useVariant(variant));

    it.each(cases.map((c, i) => [c.label, i] as const))("widened B is the f32 GEMM's bits: %s", (_, i) => {
      const { a, b16, b, c0 } = data[i]!;
      const expected = c0.slice();
      k.gemm(a, b, expected, cases[i]!.options);
      const c = c0.slice();
      k.gemmBf16(a, b16, c, cases[i]!.options);
      expect(differingBits(c, expected)).toBe(0);
    });

    it.each(cases.map((c, i) => [c.label, i] as const))("bf16Dot is the product of bf16 A and B: %s", (_, i) => {
      const { a, b16, c0, rounded } = data[i]!;
      const o = cases[i]!.options;
      const { out, bound } = rounded;
      const c = c0.slice();
      k.gemmBf16(a, b16, c, { ...o, bf16Dot: true });
      // Only f32 accumulation separates the two: pairs and k blocks are summed in another order.
      expectClose(c, out, { rtol: 2 * o.k * 2 ** -24 + 2 ** -22, atol: 1e-30 }, bound);
    });
  });

  // The 34M Llama's base-weight products (d 512, kv 128, ffn 1024; 2 × 256 tokens): y = x·Wᵀ forward,
  // dx = dy·W backward. The measured error is printed beside the bound. The f32 reference is the
  // native f32 GEMM (gemm.test.ts holds it to the ts one), for speed.
  const shapes = [
    { name: "q/o forward", m: 512, n: 512, k: 512, transB: true },
    { name: "gate/up forward", m: 512, n: 1024, k: 512, transB: true },
    { name: "down forward", m: 512, n: 512, k: 1024, transB: true },
    { name: "gate/up backward dx", m: 512, n: 512, k: 1024, transB: false },
  ];
  describe("on the default variant", () => {
  beforeAll(() => k.useVariant(k.variants[0]!));
  it.each(shapes)("bf16Dot is within (2⁻⁸ + 2k·2⁻²⁴)·Σ|a||b| of f32 on $name", ({ name, ...o }) => {
    const a = normals(rng, o.m * o.k);
    const b16 = toBf16(normals(rng, o.k * o.n, 0.05));
    const b = widen(b16);
    const expected = new Float32Array(o.m * o.n);
    k.gemm(a, b, expected, o);
    const bound = new Float32Array(o.m * o.n);
    k.gemm(a.map(Math.abs), b.map(Math.abs), bound, o);
    const c = new Float32Array(o.m * o.n);
    k.gemmBf16(a, b16, c, { ...o, bf16Dot: true });
    expectClose(c, expected, { rtol: U + 2 * o.k * 2 ** -24, atol: 0 }, bound);
    let worst = 0;
    let sq = 0;
    let ref = 0;
    for (let i = 0; i < c.length; i++) {
      worst = Math.max(worst, Math.abs(c[i]! - expected[i]!) / bound[i]!);
      sq += (c[i]! - expected[i]!) ** 2;
      ref += expected[i]! ** 2;
    }
    console.log(
      `${k.variant} ${name} ${o.m}×${o.n}×${o.k}: max |Δ|/Σ|a||b| ${worst.toExponential(2)} (bound ${(U + 2 * o.k * 2 ** -24).toExponential(2)}), ‖Δ‖/‖C‖ ${Math.sqrt(sq / ref).toExponential(2)}`,
    );
  });
  });

  it("rejects a B that is not bf16 bits, or too short, naming the kernel", () => {
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() => k.gemmBf16(f(6), f(12) as unknown as Uint16Array, f(8), { m: 2, n: 4, k: 3 })).toThrow(
      /^gemmBf16: b must be a Uint16Array \(bf16 bit patterns\)$/,
    );
    expect(() => k.gemmBf16(f(6), new Uint16Array(11), f(8), { m: 2, n: 4, k: 3 })).toThrow(
      /^gemmBf16: b has 11 elements, needs at least 12/,
    );
  });

  it("reports whether the active variant multiplies bf16 in hardware", () => {
    for (const v of k.variants) {
      k.useVariant(v);
      expect(k.bf16Native, v).toBe(v === "avx512-bf16");
    }
  });
});
