/**
 * Frozen LoRA base weights multiplied in bf16 (SEAPO_GEMM_BF16=1, native/frozen.ts): only GEMMs whose B
 * is a frozen base weight change, by about bf16's rounding; full fine-tuning is untouched. The emulated
 * mode runs vdpbf16ps's arithmetic on any CPU, so this runs here too.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { expectedShapes } from "../../../src/engine/models/llama.js";
import type { ModelConfig, WeightMap } from "../../../src/engine/models/config.js";
import { crossEntropy } from "../../../src/engine/nn/functional.js";
import { Linear } from "../../../src/engine/nn/layers.js";
import { LoRALinear } from "../../../src/engine/nn/lora.js";
import * as ops from "../../../src/engine/ops.js";
import {
  frozenBf16,
  requestedFrozenArithmetic,
  setFrozenArithmetic,
  toBf16Bits,
  type FrozenArithmetic,
} from "../../../src/engine/native/index.js";
import { Rng } from "../../../src/engine/random.js";
import { randn, type Tensor } from "../../../src/engine/tensor.js";
import { native, relativeError as relative } from "./helpers.js";

const config: ModelConfig = {
  architecture: "llama",
  vocabSize: 61,
  hiddenSize: 64,
  intermediateSize: 96,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  ropeTheta: 10000,
  rmsNormEps: 1e-6,
  tieWordEmbeddings: false,
  attentionBias: false,
  maxPositionEmbeddings: 64,
  eosTokenId: 2,
};

function weights(): WeightMap {
  const rng = new Rng(3);
  const map: WeightMap = new Map();
  for (const [name, shape] of expectedShapes(config)) {
    const data = new Float32Array(shape.reduce((p, s) => p * s, 1));
    for (let i = 0; i < data.length; i++) data[i] = name.endsWith("norm.weight") ? 1 + 0.1 * rng.normal() : 0.05 * rng.normal();
    map.set(name, { shape, data });
  }
  return map;
}

const ids = [0, 1].map((b) => Array.from({ length: 24 }, (_, t) => (7 * b + 3 * t * t + 1) % 61));
const targets = ids.map((row) => [...row.slice(1), 2]);

interface Step {
  logits: Float32Array;
  loss: number;
  grads: Float32Array;
}

/**
 * An independent model of the bf16 path on the ts backend: a GEMM whose B is a frozen weight rounds A
 * and B to bf16 (toBf16Bits, widened back) and multiplies in f32.
 */
const widen = (bits: Uint16Array): Float32Array => new Float32Array(Uint32Array.from(bits, (h) => h << 16).buffer);
const simulated: Backend = {
  ...tsBackend,
  gemm: (a, b, c, o) => {
    const bits = frozenBf16(b);
    tsBackend.gemm(bits ? widen(toBf16Bits(a)) : a, bits ? widen(bits) : b, c, o);
  },
};

/** One forward and backward under a frozen-weight arithmetic; LoRA (B non-zero, so it matters) or full. */
function step(mode: FrozenArithmetic, lora: boolean, backend: Backend = loadNativeBackend()!): Step {
  setFrozenArithmetic(mode);
  return withBackend(backend, () => {
    const model = LlamaModel.fromWeights(config, weights(), { trainable: !lora });
    const params: Tensor[] = lora
      ? [...model.applyLora({ rank: 4, alpha: 8, seed: 5 }).values()]
      : [...model.namedParameters().values()].filter((p) => p.requiresGrad);
    const rng = new Rng(9);
    if (lora) for (const p of params) for (let i = 0; i < p.size; i++) p.data[i] = 0.1 * rng.normal();
    const logits = model.forward(ids);
    const loss = crossEntropy(logits, targets);
    loss.backward();
    const grads = Float32Array.from(params.flatMap((p) => Array.from(p.grad!.data)));
    return { logits: logits.data.slice(), loss: loss.item(), grads };
  });
}

describe.skipIf(native === undefined)("bf16 products for frozen weights", () => {
  afterEach(() => setFrozenArithmetic(undefined));

  it("LoRA: logits, loss and adapter gradients move by about bf16's rounding, not more", () => {
    const f32 = step("f32", true);
    const bf16 = step("bf16-emulated", true);
    const [dLogits, dGrads] = [relative(bf16.logits, f32.logits), relative(bf16.grads, f32.grads)];
    console.log(`bf16 base vs f32: ‖Δlogits‖/‖logits‖ ${dLogits.toExponential(2)}, ‖Δgrad‖/‖grad‖ ${dGrads.toExponential(2)}, loss ${bf16.loss} vs ${f32.loss}`);
    // Measured here: 4.9e-3, 7.7e-3 and 2e-5 relative. Each frozen product moves by ≈ 1.7e-3 (rms; at most
    // 2⁻⁸ of Σ|a||b|) and rounding flips compound through the layers; the bounds leave about 4× room.
    expect(dLogits).toBeGreaterThan(1e-4); // the bf16 path did run
    expect(dLogits).toBeLessThan(2e-2);
    expect(dGrads).toBeLessThan(3e-2);
    expect(Math.abs(bf16.loss - f32.loss) / f32.loss).toBeLessThan(1e-3);
  });

  it("one LoRA layer: output and input gradient equal an f32 simulation that rounds to bf16", () => {
    const layerStep = (mode: FrozenArithmetic, backend: Backend): Float32Array[] => {
      setFrozenArithmetic(mode);
      return withBackend(backend, () => {
        const rng = new Rng(4);
        const layer = LoRALinear.fromLinear(new Linear(randn([96, 64], rng, 0.1)), { rank: 4, alpha: 8, seed: 1 });
        layer.loraB.data.set(randn([96, 4], rng, 0.1).data);
        const x = randn([48, 64], rng, 1, true);
        const y = layer.forward(x);
        ops.sum(ops.mul(y, randn([48, 96], rng)), 1).sum(0).backward();
        return [y.data.slice(), x.grad!.data.slice(), layer.loraA.grad!.data.slice()];
      });
    };
    const [f32, bf16, model] = [
      layerStep("f32", loadNativeBackend()!),
      layerStep("bf16-emulated", loadNativeBackend()!),
      layerStep("f32", simulated),
    ];
    for (const i of [0, 1]) {
      expect(relative(bf16[i]!, model[i]!), `output ${i}`).toBeLessThan(1e-5);
      expect(relative(bf16[i]!, f32[i]!), `output ${i}`).toBeGreaterThan(1e-4); // the bf16 path did run
    }
    // lora_A's gradient involves no frozen weight: the adapter's own products stay f32, bit for bit.
    expect(Buffer.from(bf16[2]!.buffer).equals(Buffer.from(f32[2]!.buffer))).toBe(true);
  });

  it("full fine-tuning: nothing is frozen, so the results are the f32 bits", () => {
    const f32 = step("f32", false);
    const bf16 = step("bf16-emulated", false);
    expect(Buffer.from(bf16.logits.buffer).equals(Buffer.from(f32.logits.buffer))).toBe(true);
    expect(Buffer.from(bf16.grads.buffer).equals(Buffer.from(f32.grads.buffer))).toBe(true);
  });

  it.skipIf(native?.bf16Native ?? true)("SEAPO_GEMM_BF16=1 without AVX512-BF16 warns once and keeps f32", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const f32 = step("f32", true);
    const asked = step("bf16", true);
    step("bf16", true);
    expect(Buffer.from(asked.logits.buffer).equals(Buffer.from(f32.logits.buffer))).toBe(true);
    expect(warn.mock.calls.filter(([m]) => String(m).includes("SEAPO_GEMM_BF16=1"))).toHaveLength(1);
    warn.mockRestore();
  });

  it("reads SEAPO_GEMM_BF16: 1 asks for bf16, 0 or unset for f32, anything else is refused", () => {
    const saved = process.env.SEAPO_GEMM_BF16;
    try {
      process.env.SEAPO_GEMM_BF16 = "1";
      expect(requestedFrozenArithmetic()).toBe("bf16");
      process.env.SEAPO_GEMM_BF16 = "0";
      expect(requestedFrozenArithmetic()).toBe("f32");
      process.env.SEAPO_GEMM_BF16 = "yes";
      expect(() => requestedFrozenArithmetic()).toThrow('SEAPO_GEMM_BF16 must be 0 or 1, got "yes"');
    } finally {
      if (saved === undefined) delete process.env.SEAPO_GEMM_BF16;
      else process.env.SEAPO_GEMM_BF16 = saved;
    }
  });

  it("remakes a frozen weight's bf16 copy when its values were rewritten", async () => {
    const { markFrozenWeight } = await import("../../../src/engine/native/index.js");
    const w = Float32Array.from([1, 2, 3, 4]);
    markFrozenWeight(w);
    expect(Array.from(frozenBf16(w)!)).toEqual([0x3f80, 0x4000, 0x4040, 0x4080]);
    w.set([5, 6, 7, 8]);
    expect(Array.from(frozenBf16(w)!)).toEqual([0x40a0, 0x40c0, 0x40e0, 0x4100]);
    expect(frozenBf16(new Float32Array(4))).toBeUndefined();
  });
});
