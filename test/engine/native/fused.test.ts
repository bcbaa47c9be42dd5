import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../../src/engine/random.js";
// The reference for every native kernel is the ts backend's own kernel.
import { tsKernels as ref } from "../../../src/engine/backends/ts-kernels.js";
import type { RopeOptions } from "../../../src/engine/kernels.js";
import { expectClose, finiteDifference, native, normals, variants } from "./helpers.js";

const forward = { rtol: 2e-5, atol: 1e-6 };
const backward = { rtol: 1e-4, atol: 1e-5 };
/** Native float32 gradients against float64 central differences of the reference forward. */
const numeric = { rtol: 1e-3, atol: 1e-4 };

/** rows × cols shapes: the odd sizes hit every vector tail; the last is big enough to run on several threads. */
const shapes: [number, number][] = [
  [1, 1],
  [3, 7],
  [2, 33],
  [3, 65],
  [2, 257],
  [300, 129],
];
/** Small enough for a finite difference over every input element. */
const smallShapes = shapes.filter(([rows, cols]) => rows * cols <= 600);

const ropeCases: RopeOptions[] = [
  { batch: 1, seq: 1, heads: 1, half: 1 },
  { batch: 2, seq: 5, heads: 3, half: 7 },
  { batch: 2, seq: 3, heads: 2, half: 33, layout: "bhtd", tableWidth: "full", tableBatched: false },
  { batch: 1, seq: 4, heads: 3, half: 9, layout: "bhtd", tableWidth: "half", tableBatched: true },
  { batch: 3, seq: 2, heads: 1, half: 17, layout: "bthd", tableWidth: "full", tableBatched: true },
  { batch: 2, seq: 64, heads: 4, half: 32, layout: "bhtd", tableWidth: "full", tableBatched: false },
];

function ropeSizes(o: RopeOptions): { x: number; table: number } {
  const width = o.tableWidth === "full" ? 2 * o.half : o.half;
  return { x: o.batch * o.seq * o.heads * 2 * o.half, table: (o.tableBatched === false ? 1 : o.batch) * o.seq * width };
}

function ropeLabel(o: RopeOptions): string {
  return `B${o.batch} T${o.seq} H${o.heads} half${o.half} ${o.layout ?? "bthd"} ${o.tableWidth ?? "half"}${o.tableBatched === false ? " shared" : ""}`;
}

/** Angles as a model would have them (cos/sin of position·frequency), with unrelated second halves for full tables. */
function ropeTables(rng: Rng, o: RopeOptions): { cos: Float32Array; sin: Float32Array } {
  const n = ropeSizes(o).table;
  const angle = Float64Array.from({ length: n }, () => rng.uniform(-Math.PI, Math.PI));
  return { cos: Float32Array.from(angle, Math.cos), sin: Float32Array.from(angle, Math.sin) };
}

describe.skipIf(native === undefined)("native fused kernels", () => {
  const k = native!;
  afterAll(() => k.useVariant(k.variants[0]!));

  describe.each(variants)("variant %s", (variant) => {
    beforeAll(() => k.useVariant(variant));

    describe.each(shapes)("rows=%i cols=%i", (rows, cols) => {
      const rng = new Rng(rows * 1000 + cols);
      const n = rows * cols;
      const x = normals(rng, n, 2);
      const grad = normals(rng, n);
      const weight = normals(rng, cols);

      it("rmsnorm and its backward", () => {
        const out = new Float32Array(n);
        const expected = new Float32Array(n);
        k.rmsnorm(x, weight, out, rows, cols, 1e-5);
        ref.rmsnorm(x, weight, expected, rows, cols, 1e-5);
        expectClose(out, expected, forward);

        const dx = new Float32Array(n);
        const dWeight = new Float32Array(cols).fill(1); // accumulated into
        const dxRef = new Float32Array(n);
        const dWeightRef = new Float32Array(cols).fill(1);
        k.rmsnormBackward(grad, x, weight, dx, dWeight, rows, cols, 1e-5);
        ref.rmsnormBackward(grad, x, weight, dxRef, dWeightRef, rows, cols, 1e-5);
        expectClose(dx, dxRef, backward);
        expectClose(dWeight, dWeightRef, backward);
      });

      it("softmax, log-softmax and their backward", () => {
        for (const [fwd, bwd, fwdRef, bwdRef] of [
          [k.softmax, k.softmaxBackward, ref.softmax, ref.softmaxBackward],
          [k.logSoftmax, k.logSoftmaxBackward, ref.logSoftmax, ref.logSoftmaxBackward],
        ] as const) {
          const y = new Float32Array(n);
          const yRef = new Float32Array(n);
          fwd(x, y, rows, cols);
          fwdRef(x, yRef, rows, cols);
          expectClose(y, yRef, forward);
          const dx = new Float32Array(n);
          const dxRef = new Float32Array(n);
          bwd(grad, y, dx, rows, cols);
          bwdRef(grad, yRef, dxRef, rows, cols);
          expectClose(dx, dxRef, backward);
        }
      });

      // IEEE add, sub, mul and div round the same in C++ floats and in JS doubles stored to float32.
      it("elementwise ops with b the same shape, a row or a scalar: the reference's bits, in place too", () => {
        const b = normals(rng, n, 2).map((v) => (v === 0 ? 1 : v));
        for (const op of ["add", "sub", "mul", "div"] as const)
          for (const operand of [b, b.subarray(0, cols), b.subarray(0, 1)]) {
            const out = new Float32Array(n);
            const expected = new Float32Array(n);
            k.elementwise(op, x, operand, out);
            ref.elementwise(op, x, operand, expected);
            expect(out, `${op} with ${operand.length} values`).toEqual(expected);
            const inPlace = x.slice();
            k.elementwise(op, inPlace, operand, inPlace);
            expect(inPlace).toEqual(expected);
          }
      });

      it("siluMul and its backward", () => {
        const up = normals(rng, n);
        const out = new Float32Array(n);
        const expected = new Float32Array(n);
        k.siluMul(x, up, out);
        ref.siluMul(x, up, expected);
        expectClose(out, expected, forward);
        const [dg, du, dgRef, duRef] = [0, 1, 2, 3].map(() => new Float32Array(n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
        k.siluMulBackward(grad, x, up, dg, du);
        ref.siluMulBackward(grad, x, up, dgRef, duRef);
        expectClose(dg, dgRef, backward);
        expectClose(du, duRef, backward);
      });
    });

    describe.each(smallShapes)("gradients against finite differences, rows=%i cols=%i", (rows, cols) => {
      const rng = new Rng(rows * 77 + cols);
      const n = rows * cols;
      const x = normals(rng, n, 2);
      const grad = normals(rng, n);
      const weight = normals(rng, cols);

      it("rmsnormBackward", () => {
        const dx = new Float32Array(n);
        const dWeight = new Float32Array(cols);
        k.rmsnormBackward(grad, x, weight, dx, dWeight, rows, cols, 1e-5);
        expectClose(dx, finiteDifference(x, grad, (xs, out) => ref.rmsnorm(xs, weight, out, rows, cols, 1e-5)), numeric);
        expectClose(dWeight, finiteDifference(weight, grad, (ws, out) => ref.rmsnorm(x, ws, out, rows, cols, 1e-5)), numeric);
      });

      it("softmaxBackward and logSoftmaxBackward", () => {
        for (const [fwd, bwd, fwdRef] of [
          [k.softmax, k.softmaxBackward, ref.softmax],
          [k.logSoftmax, k.logSoftmaxBackward, ref.logSoftmax],
        ] as const) {
          const y = new Float32Array(n);
          fwd(x, y, rows, cols);
          const dx = new Float32Array(n);
          bwd(grad, y, dx, rows, cols);
          expectClose(dx, finiteDifference(x, grad, (xs, out) => fwdRef(xs, out, rows, cols)), numeric);
        }
      });

      it("siluMulBackward", () => {
        const up = normals(rng, n);
        const dg = new Float32Array(n);
        const du = new Float32Array(n);
        k.siluMulBackward(grad, x, up, dg, du);
        expectClose(dg, finiteDifference(x, grad, (gs, out) => ref.siluMul(gs, up, out)), numeric);
        expectClose(du, finiteDifference(up, grad, (us, out) => ref.siluMul(x, us, out)), numeric);
      });
    });

    describe.each(ropeCases.map((o) => [ropeLabel(o), o] as const))("rope %s", (_label, o) => {
      const rng = new Rng(o.half * 31 + o.seq);
      const size = ropeSizes(o).x;
      const x = normals(rng, size);
      const grad = normals(rng, size);
      const { cos, sin } = ropeTables(rng, o);

      it("forward and backward match the reference", () => {
        const out = new Float32Array(size);
        const expected = new Float32Array(size);
        k.rope(x, cos, sin, out, o);
        ref.rope(x, cos, sin, expected, o);
        expectClose(out, expected, forward);
        const dx = new Float32Array(size);
        const dxRef = new Float32Array(size);
        k.ropeBackward(grad, cos, sin, dx, o);
        ref.ropeBackward(grad, cos, sin, dxRef, o);
        expectClose(dx, dxRef, backward);
      });

      it.runIf(size <= 1000)("backward matches finite differences of the forward", () => {
        const dx = new Float32Array(size);
        k.ropeBackward(grad, cos, sin, dx, o);
        expectClose(dx, finiteDifference(x, grad, (xs, out) => ref.rope(xs, cos, sin, out, o)), numeric);
      });
    });

    it("writes in place when out is x", () => {
      const rng = new Rng(5);
      const x = normals(rng, 3 * 40);
      const expected = new Float32Array(x.length);
      ref.softmax(x, expected, 3, 40);
      const inPlace = x.slice();
      k.softmax(inPlace, inPlace, 3, 40);
      expectClose(inPlace, expected, forward);

      const o: RopeOptions = { batch: 1, seq: 3, heads: 2, half: 10 };
      const { cos, sin } = ropeTables(rng, o);
      ref.rope(x, cos, sin, expected, o);
      const rotated = x.slice();
      k.rope(rotated, cos, sin, rotated, o);
      expectClose(rotated, expected, forward);
    });
  });
});

// The oracle itself (the ts kernels), checked against definitions written out independently (no addon needed).
describe("reference kernels (ts backend)", () => {
  it("rope matches Hugging Face's q·cos + rotate_half(q)·sin with full tables", () => {
    const rng = new Rng(11);
    const o: RopeOptions = { batch: 1, seq: 3, heads: 2, half: 4, layout: "bhtd", tableWidth: "full", tableBatched: false };
    const dim = 8;
    // cos/sin as HF builds them: emb = cat(freqs, freqs), freqs[t, i] = t · base^(−2i/dim).
    const cos = new Float32Array(o.seq * dim);
    const sin = new Float32Array(o.seq * dim);
    const halfCos = new Float32Array(o.seq * 4);
    const halfSin = new Float32Array(o.seq * 4);
    for (let t = 0; t < o.seq; t++) {
      for (let i = 0; i < dim; i++) {
        const angle = t * 10000 ** (-(2 * (i % 4)) / dim);
        cos[t * dim + i] = Math.cos(angle);
        sin[t * dim + i] = Math.sin(angle);
        if (i < 4) {
          halfCos[t * 4 + i] = Math.cos(angle);
          halfSin[t * 4 + i] = Math.sin(angle);
        }
      }
    }
    const q = normals(rng, o.heads * o.seq * dim);
    const out = new Float32Array(q.length);
    ref.rope(q, cos, sin, out, o);
    for (let row = 0; row < o.heads * o.seq; row++) {
      const t = row % o.seq;
      for (let i = 0; i < dim; i++) {
        const rotated = i < 4 ? -q[row * dim + i + 4]! : q[row * dim + i - 4]!;
        const hf = q[row * dim + i]! * cos[t * dim + i]! + rotated * sin[t * dim + i]!;
        expect(out[row * dim + i]).toBeCloseTo(hf, 6);
      }
    }
    const fromHalf = new Float32Array(q.length);
    ref.rope(q, halfCos, halfSin, fromHalf, { ...o, tableWidth: "half" });
    expectClose(fromHalf, out, { rtol: 0, atol: 0 });
    // A rotation: the backward (rotation by −θ) undoes it.
    const back = new Float32Array(q.length);
    ref.ropeBackward(out, cos, sin, back, o);
    expectClose(back, q, { rtol: 1e-6, atol: 1e-6 });
  });

  it("backward kernels match finite differences of the forward kernels", () => {
    const rng = new Rng(3);
    const [rows, cols] = [2, 9];
    const x = Float64Array.from(normals(rng, rows * cols));
    const w = Float64Array.from(normals(rng, cols));
    const g = Float64Array.from(normals(rng, rows * cols));
    const dx = new Float64Array(rows * cols);
    const dw = new Float64Array(cols);
    ref.rmsnormBackward(g, x, w, dx, dw, rows, cols, 1e-6);
    expectClose(dx, finiteDifference(x, g, (xs, out) => ref.rmsnorm(xs, w, out, rows, cols, 1e-6), 1e-6), { rtol: 1e-7, atol: 1e-8 });
    expectClose(dw, finiteDifference(w, g, (ws, out) => ref.rmsnorm(x, ws, out, rows, cols, 1e-6), 1e-6), { rtol: 1e-7, atol: 1e-8 });
    const y = new Float64Array(rows * cols);
    ref.logSoftmax(x, y, rows, cols);
    ref.logSoftmaxBackward(g, y, dx, rows, cols);
    expectClose(dx, finiteDifference(x, g, (xs, out) => ref.logSoftmax(xs, out, rows, cols), 1e-6), { rtol: 1e-7, atol: 1e-8 });
  });

  it("gemm follows the definition on a worked example", () => {
    // [[1,2],[3,4]]ᵀ · [[5,6],[7,8]] = [[26,30],[38,44]]; then alpha = 2, beta = 1 onto C = 1.
    const c = new Float32Array([1, 1, 1, 1]);
    ref.gemm(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), c, { m: 2, n: 2, k: 2, transA: true, alpha: 2, beta: 1 });
    expect(Array.from(c)).toEqual([53, 61, 77, 89]);
  });
});
