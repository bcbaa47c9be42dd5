import { describe, expect, it } from "vitest";
import { crossEntropy } from "../../../src/engine/nn/functional.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { LoRALinear } from "../../../src/engine/nn/lora.js";
import { Linear } from "../../../src/engine/nn/layers.js";
import { Rng } from "../../../src/engine/random.js";
import { noGrad, type Tensor, tensor } from "../../../src/engine/tensor.js";
import { randomWeights, tinyConfig, tinyModel } from "./tiny-model.js";

// Two sequences: row 0 is left-padded by two tokens.
const ids = [
  [0, 0, 5, 9, 3, 11],
  [4, 1, 16, 7, 7, 2],
];
const mask = [
  [0, 0, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1],
];
const targets = [
  [0, 0, 9, 3, 11, 6],
  [1, 16, 7, 7, 2, 12],
];
// Loss on the last three positions of each row, as a completion mask would.
const lossMask = [
  [0, 0, 0, 1, 1, 1],
  [0, 0, 0, 1, 1, 1],
];

function loss(model: LlamaModel): Tensor {
  return crossEntropy(model.forward(ids, { attentionMask: mask }), targets, lossMask);
}

/** Compares backprop gradients with central differences on a few elements of every parameter. */
function checkModelGradients(model: LlamaModel, params: Map<string, Tensor>, perTensor = 2): number {
  for (const p of params.values()) p.grad = null;
  loss(model).backward();
  const rng = new Rng(7);
  const eps = 1e-2;
  let worst = 0;
  for (const [name, p] of params) {
    const analytic = p.grad;
    expect(analytic, `${name} got no gradient`).not.toBeNull();
    for (let n = 0; n < perTensor; n++) {
      const k = rng.int(p.size);
      const original = p.data[k]!;
      p.data[k] = original + eps;
      const up = noGrad(() => loss(model).item());
      p.data[k] = original - eps;
      const down = noGrad(() => loss(model).item());
      p.data[k] = original;
      const numeric = (up - down) / (2 * eps);
      const error = Math.abs(analytic!.data[k]! - numeric);
      worst = Math.max(worst, error);
      expect(error, `${name}[${k}]: analytic ${analytic!.data[k]} numeric ${numeric}`).toBeLessThan(
        2e-3 + 2e-2 * Math.abs(numeric),
      );
    }
  }
  return worst;
}

describe.each(["llama", "qwen2"] as const)("%s decoder", (arch) => {
  it("gives logits [B, T, V] and loss gradients that match finite differences", () => {
    const model = tinyModel(arch, 1, true);
    const logits = model.forward(ids, { attentionMask: mask });
    expect(logits.shape).toEqual([2, 6, 17]);
    const params = model.namedParameters();
    expect(params.has("lm_head.weight")).toBe(arch === "llama");
    expect(params.has("model.layers.0.self_attn.q_proj.bias")).toBe(arch === "qwen2");
    checkModelGradients(model, params);
  });

  it("gives a left-padded row the same logits as the row alone", () => {
    const model = tinyModel(arch);
    const batched = model.forward(ids, { attentionMask: mask });
    const alone = model.forward([ids[0]!.slice(2)]);
    for (let t = 0; t < 4; t++) {
      for (let v = 0; v < 17; v++) expect(batched.data[(2 + t) * 17 + v]).toBeCloseTo(alone.data[t * 17 + v]!, 4);
    }
  });

  it("gives a right-padded row the same logits as the row alone", () => {
    const model = tinyModel(arch);
    const padded = model.forward([[5, 9, 3, 0, 0]], { attentionMask: [[1, 1, 1, 0, 0]] });
    const alone = model.forward([[5, 9, 3]]);
    for (let i = 0; i < 3 * 17; i++) expect(padded.data[i]).toBeCloseTo(alone.data[i]!, 4);
  });

  it("LoRA starts equal to the base, trains only the adapters, and merges back", () => {
    const model = tinyModel(arch);
    const base = model.forward(ids, { attentionMask: mask });
    const adapters = model.applyLora({ rank: 2, alpha: 4, seed: 3 });
    expect(adapters.size).toBe(2 * 7 * 2);
    expect(adapters.has("model.layers.1.mlp.down_proj.lora_B.weight")).toBe(true);
    expect([...model.trainableParameters().keys()].sort()).toEqual([...adapters.keys()].sort());
    expect(model.forward(ids, { attentionMask: mask }).toArray()).toEqual(base.toArray());

    // Move B off zero, then check adapter gradients and that merging reproduces the adapted model.
    const rng = new Rng(4);
    for (const [name, p] of adapters)
      if (name.includes("lora_B")) p.data.forEach((_, i) => (p.data[i] = 0.3 * rng.normal()));
    checkModelGradients(model, adapters);
    for (const p of model.namedParameters().values()) if (!p.requiresGrad) expect(p.grad).toBeNull();
    const adapted = model.forward(ids, { attentionMask: mask });
    expect(adapted.toArray()).not.toEqual(base.toArray());
    model.mergeLora();
    expect(model.adapterParameters().size).toBe(0);
    const merged = model.forward(ids, { attentionMask: mask });
    for (let i = 0; i < merged.size; i++) expect(merged.data[i]).toBeCloseTo(adapted.data[i]!, 4);
  });
});

describe("LoRALinear", () => {
  it("scales the adapter by alpha / rank and merges into W + scaling·B·A", () => {
    const linear = new Linear(tensor([1, 2, 3, 4, 5, 6], [2, 3]), tensor([0.5, -0.5], [2]));
    const lora = LoRALinear.fromLinear(linear, { rank: 1, alpha: 2 });
    expect(lora.scaling).toBe(2);
    expect(linear.weight.requiresGrad).toBe(false);
    expect(lora.loraB.toArray()).toEqual([0, 0]);
    const bound = 1 / Math.sqrt(3);
    expect(lora.loraA.toArray().every((v) => Math.abs(v) <= bound)).toBe(true);
    lora.loraA.data.set([1, 0, -1]);
    lora.loraB.data.set([1, 2]);
    const x = tensor([1, 1, 1, 2, 0, 1], [2, 3]);
    // base: [6.5, 14.5], [5.5, 13.5]; adapter: A·x = [0, 1], scaled by 2 and B: [0, 0], [2, 4]
    expect(lora.forward(x).toArray()).toEqual([6.5, 14.5, 7.5, 17.5]);
    expect(lora.merge().weight.toArray()).toEqual([3, 2, 1, 8, 5, 2]);
    expect(lora.merge().forward(x).toArray()).toEqual([6.5, 14.5, 7.5, 17.5]);
  });

  it("applies dropout to the adapter input only while training", () => {
    const linear = new Linear(tensor(new Array(8 * 8).fill(0.1), [8, 8]));
    const lora = LoRALinear.fromLinear(linear, { rank: 2, alpha: 2, dropout: 0.5, seed: 1 });
    lora.loraB.data.fill(1);
    const x = tensor(new Array(16).fill(1), [2, 8]);
    const evalOut = lora.forward(x).toArray();
    expect(lora.forward(x).toArray()).toEqual(evalOut);
    lora.training = true;
    expect(lora.forward(x).toArray()).not.toEqual(evalOut);
  });
});

describe("LlamaModel.fromWeights", () => {
  const config = tinyConfig("llama");
  it("names a missing tensor", () => {
    const weights = randomWeights(config, 1);
    weights.delete("model.layers.1.mlp.up_proj.weight");
    expect(() => LlamaModel.fromWeights(config, weights)).toThrow(
      /missing tensor "model.layers.1.mlp.up_proj.weight" \[24, 16\]/,
    );
  });
  it("names a tensor of the wrong shape", () => {
    const weights = randomWeights(config, 1);
    weights.set("model.norm.weight", { shape: [15], data: new Float32Array(15) });
    expect(() => LlamaModel.fromWeights(config, weights)).toThrow(
      /"model.norm.weight" has shape \[15\], expected \[16\]/,
    );
  });
  it("rejects an unexpected tensor but skips rotary inv_freq", () => {
    const weights = randomWeights(config, 1);
    weights.set("model.layers.0.self_attn.rotary_emb.inv_freq", { shape: [2], data: new Float32Array(2) });
    expect(() => LlamaModel.fromWeights(config, weights)).not.toThrow();
    weights.set("model.layers.0.extra.weight", { shape: [1], data: new Float32Array(1) });
    expect(() => LlamaModel.fromWeights(config, weights)).toThrow(/unexpected tensor "model.layers.0.extra.weight"/);
  });
  it("rejects a config whose heads do not group", () => {
    expect(() => LlamaModel.fromWeights({ ...config, numKvHeads: 3 }, randomWeights(config, 1))).toThrow(
      /numHeads \(4\) must be a multiple of numKvHeads \(3\)/,
    );
  });
  it("reloads saved adapters into a freshly wrapped model", () => {
    const trained = tinyModel("llama");
    const adapters = trained.applyLora({ rank: 2, alpha: 2, targets: ["q_proj", "down_proj"], seed: 1 });
    const rng = new Rng(9);
    for (const p of adapters.values()) p.data.forEach((_, i) => (p.data[i] = rng.normal()));
    const saved = new Map([...adapters].map(([name, t]) => [name, { shape: [...t.shape], data: t.data.slice() }]));
    const fresh = tinyModel("llama");
    fresh.applyLora({ rank: 2, alpha: 2, targets: ["q_proj", "down_proj"], seed: 5 });
    expect(fresh.forward(ids).toArray()).not.toEqual(trained.forward(ids).toArray());
    fresh.loadParameters(saved);
    expect(fresh.forward(ids).toArray()).toEqual(trained.forward(ids).toArray());
    expect(() => tinyModel("llama").loadParameters(saved)).toThrow(
      /no parameter "model.layers.0.self_attn.q_proj.lora_A.weight"/,
    );
  });

  it("round-trips through weights()", () => {
    const model = tinyModel("qwen2");
    const again = LlamaModel.fromWeights(model.config, model.weights());
    expect(again.forward(ids).toArray()).toEqual(model.forward(ids).toArray());
  });
});
