import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setBackend } from "../../../src/engine/backend.js";
import { toBf16Bits } from "../../../src/engine/native/index.js";
import { WeightPacks } from "../../../src/engine/packed-weights.js";
import { Rng } from "../../../src/engine/random.js";
import { native, normals, variants } from "./helpers.js";

// A packed weight must give gemm's bits with transB, whatever the rows: decode steps rely on it to
// produce the same tokens as the unpacked path.
interface Shape {
  m: number;
  n: number;
  k: number;
}

const shapes: (Shape & { label: string })[] = [
  { label: "one row, one column", m: 1, n: 1, k: 1 },
  { label: "one row, ragged panel", m: 1, n: 37, k: 19 },
  { label: "one row on several threads, ragged column and depth blocks", m: 1, n: 1000, k: 600 },
  { label: "batch-8 decode rows", m: 8, n: 530, k: 300 },
  { label: "two row blocks", m: 130, n: 77, k: 260 },
  { label: "every block whole (avx2 sizes)", m: 96, n: 768, k: 512 },
];

function operands(shape: Shape, seed: number) {
  const rng = new Rng(seed);
  return { x: normals(rng, shape.m * shape.k), w: normals(rng, shape.n * shape.k), c: normals(rng, shape.m * shape.n) };
}

describe.skipIf(native === undefined)("packed weights (native gemmPacked)", () => {
  const kernels = native!;
  afterAll(() => kernels.useVariant(kernels.variants[0]!));

  describe.each(variants)("variant %s", (variant) => {
    beforeAll(() => kernels.useVariant(variant));

    it.each(shapes)("equals gemm with transB to the bit: $label", (shape) => {
      const { x, w, c } = operands(shape, shape.m + shape.n);
      const expected = new Float32Array(shape.m * shape.n);
      kernels.gemm(x, w, expected, { ...shape, transB: true });
      const packed = kernels.packWeight(w, shape.n, shape.k);
      const actual = c.slice(); // beta 0 overwrites whatever C held
      kernels.gemmPacked(x, packed, actual, shape);
      expect(actual).toEqual(expected);
    });

    it("takes alpha, beta and a transposed A as gemm does", () => {
      const shape = { m: 5, n: 300, k: 270 };
      const { x, w, c } = operands(shape, 3);
      const options = { ...shape, alpha: -0.5, beta: 0.75, transA: true };
      const expected = c.slice();
      kernels.gemm(x, w, expected, { ...options, transB: true });
      const actual = c.slice();
      kernels.gemmPacked(x, kernels.packWeight(w, shape.n, shape.k), actual, options);
      expect(actual).toEqual(expected);
    });

    it("packs bf16 bits as their exact f32 values", () => {
      const shape = { m: 3, n: 200, k: 90 };
      const { x, w } = operands(shape, 4);
      const bits = toBf16Bits(w);
      const widened = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
      const expected = new Float32Array(shape.m * shape.n);
      kernels.gemm(x, widened, expected, { ...shape, transB: true });
      const actual = new Float32Array(shape.m * shape.n);
      kernels.gemmPacked(x, kernels.packWeight(bits, shape.n, shape.k), actual, shape);
      expect(actual).toEqual(expected);
    });
  });

  it("refuses a packing of another shape, a copy that lost its alignment, and a batch", () => {
    const { x, w } = operands({ m: 2, n: 40, k: 30 }, 5);
    const packed = kernels.packWeight(w, 40, 30);
    const c = new Float32Array(2 * 40);
    expect(() => kernels.gemmPacked(x.subarray(0, 2 * 40), packed, c, { m: 2, n: 30, k: 40 })).toThrow(
      "gemmPacked: packed was made for another variant or shape (n 30, k 40, variant",
    );
    const moved = new Float32Array(packed.length + 1);
    moved.set(packed, 1);
    expect(() => kernels.gemmPacked(x, moved.subarray(1), c, { m: 2, n: 40, k: 30 })).toThrow(
      "gemmPacked: packed must be an array packWeight returned",
    );
    expect(() => kernels.packWeight(w, 41, 30)).toThrow("packWeight: w has 1200 elements, expected rows·cols = 1230");
    const batched = { m: 2, n: 40, k: 30, batch: 2 } as Parameters<typeof kernels.gemmPacked>[3];
    expect(() => kernels.gemmPacked(x, packed, c, batched)).toThrow("gemmPacked: a packed weight takes batch 1");
  });

  it.skipIf(variants.length < 2)("refuses a packing of another variant", () => {
    const [first, second] = variants as [string, string];
    const { x, w } = operands({ m: 1, n: 64, k: 64 }, 6);
    kernels.useVariant(first as never);
    const packed = kernels.packWeight(w, 64, 64);
    kernels.useVariant(second as never);
    expect(() => kernels.gemmPacked(x, packed, new Float32Array(64), { m: 1, n: 64, k: 64 })).toThrow(
      `variant ${second}): pack it again`,
    );
    kernels.useVariant(kernels.variants[0]!);
  });

  it("WeightPacks packs once per variant and multiplies with gemm's bits", () => {
    setBackend("native");
    const shape = { m: 1, n: 300, k: 200 };
    const { x, w } = operands(shape, 7);
    const packs = new WeightPacks();
    for (const variant of [...variants, variants[0]!]) {
      kernels.useVariant(variant);
      const expected = new Float32Array(shape.n);
      kernels.gemm(x, w, expected, { ...shape, transB: true });
      const actual = new Float32Array(shape.n);
      packs.multiply(x, w, actual, shape);
      packs.multiply(x, w, actual, shape); // the cached packing
      expect(actual).toEqual(expected);
    }
  });
});
