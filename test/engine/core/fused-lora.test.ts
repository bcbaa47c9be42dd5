// The fused LoRA op (fused-lora.ts) against the same layer composed from separate ops: the output and
// every gradient agree to rounding on both backends, with an f32 or a bf16-held base, with a bias, and
// with the adapter's input shared or dropped out; the forward allocates only its output and the rank-r
// product; and its rule reads no buffer that `ruleReads` does not declare (the tape released, poisoned).
import { afterEach, describe, expect, it } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { Bf16Matrix } from "../../../src/engine/bf16-matrix.js";
import { loraLinear } from "../../../src/engine/fused-lora.js";
import { Linear } from "../../../src/engine/nn/layers.js";
import { LoRALinear } from "../../../src/engine/nn/lora.js";
import * as ops from "../../../src/engine/ops.js";
import { configurePool, poolSettings, poolStats, recycling } from "../../../src/engine/pool.js";
import { Rng } from "../../../src/engine/random.js";
import { Tensor, uniform } from "../../../src/engine/tensor.js";
import { relativeError } from "../native/helpers.js";

const initial = poolSettings();
afterEach(() => configurePool(initial));

const [N, IN, OUT, RANK, SCALING] = [6, 24, 20, 4, 2.5];

/** A frozen base with a bias, its weight exactly bf16-valued so that it can also be held as bf16 bits. */
function frozenBase(bf16: boolean): Linear {
  const weight = uniform([OUT, IN], new Rng(1), -0.5, 0.5);
  const bits = Bf16Matrix.ifExact(
    weight.data.map((v) => Math.round(v * 256) / 256),
    OUT,
    IN,
  )!;
  const bias = uniform([OUT], new Rng(2), -0.2, 0.2);
  return new Linear(bf16 ? bits : new Tensor(bits.widen(), [OUT, IN]), bias);
}

interface Leaves {
  x: Tensor;
  a: Tensor;
  b: Tensor;
  mask: Tensor;
}

const leaves = (): Leaves => ({
  x: uniform([N, IN], new Rng(3), -1, 1, true),
  a: uniform([RANK, IN], new Rng(4), -0.3, 0.3, true),
  b: uniform([OUT, RANK], new Rng(5), -0.3, 0.3, true),
  // A dropout mask (0 or 1/(1−p)) for the case where the adapter sees another input than the base.
  mask: new Tensor(
    uniform([N, IN], new Rng(6), 0, 1).data.map((u) => (u < 0.3 ? 0 : 1 / 0.7)),
    [N, IN],
  ),
});

/** The layer as separate ops, as LoRALinear computed it before the fused op. */
function composed(base: Linear, l: Leaves, adapterInput: Tensor): Tensor {
  const low = ops.matmul(adapterInput, l.a, { transB: true });
  return ops.add(base.forward(l.x), ops.mul(ops.matmul(low, l.b, { transB: true }), SCALING));
}

/** Output and the leaves' gradients of sum(y·w) for y from `layer`. */
function run(layer: (l: Leaves, adapterInput: Tensor) => Tensor, dropped: boolean) {
  const l = leaves();
  // x·1 puts x on the tape as an op output, as a layer's input is in a model.
  const x = ops.mul(l.x, 1);
  const adapterInput = dropped ? ops.mul(x, l.mask) : x;
  const y = layer({ ...l, x }, adapterInput);
  ops.sum(ops.mul(y, uniform(y.shape, new Rng(7), -1, 1))).backward();
  return { y: y.data.slice(), dx: l.x.grad!.data, da: l.a.grad!.data, db: l.b.grad!.data };
}

const backends: [string, () => Backend | undefined][] = [
  ["ts", () => tsBackend],
  ["native", () => loadNativeBackend() ?? undefined],
];

describe("loraLinear", () => {
  for (const [name, which] of backends)
    for (const bf16 of [false, true])
      for (const dropped of [false, true])
        it(`equals the composed layer on ${name} (${bf16 ? "bf16" : "f32"} base, ${dropped ? "dropout" : "shared input"})`, () => {
          const backend = which();
          if (backend === undefined) return; // the native addon is not built here
          const base = frozenBase(bf16);
          const fused = withBackend(backend, () =>
            run((l, xa) => loraLinear(l.x, xa, l.a, l.b, base, SCALING), dropped),
          );
          const want = withBackend(backend, () => run((l, xa) => composed(base, l, xa), dropped));
          for (const key of ["y", "dx", "da", "db"] as const)
            expect(relativeError(fused[key], want[key]), key).toBeLessThan(1e-6);
        });

  it("allocates only its output and the rank-r product, where the composed layer makes four outputs", () => {
    configurePool({ enabled: true, minBytes: 0 });
    const layer = LoRALinear.fromLinear(frozenBase(false), { rank: RANK, alpha: SCALING * RANK });
    const x = uniform([N, IN], new Rng(3), -1, 1, true);
    const before = poolStats().allocations;
    layer.forward(x);
    expect(poolStats().allocations - before).toBe(2);
  });

  it("reads only the buffers ruleReads declares when backward releases the tape", () => {
    const base = frozenBase(false);
    const gradients = (pooled: boolean) => {
      configurePool(pooled ? { enabled: true, poison: true, minBytes: 0 } : { enabled: false });
      let result: Float32Array[] = [];
      const body = () => {
        const r = run((l, xa) => loraLinear(l.x, xa, l.a, l.b, base, SCALING), true);
        result = [r.dx.slice(), r.da.slice(), r.db.slice()];
      };
      if (pooled) recycling(body, { releaseTape: true });
      else body();
      return result.map((g) => [...g]);
    };
    const expected = gradients(false);
    expect(expected.flat().every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
    expect(gradients(true)).toEqual(expected);
  });

  it("refuses a base that still takes a gradient", () => {
    const layer = LoRALinear.fromLinear(frozenBase(false), { rank: RANK, alpha: 8 });
    layer.base.bias!.requiresGrad = true;
    expect(() => layer.forward(uniform([N, IN], new Rng(3), -1, 1))).toThrow(/base layer must be frozen/);
  });
});
