import { describe, expect, it } from "vitest";
import { scorePositions } from "../../../src/engine/models/scoring.js";
import { sequenceLogprobs } from "../../../src/engine/nn/functional.js";
import type { LlamaModel } from "../../../src/engine/models/llama.js";
import { tensor, type Tensor } from "../../../src/engine/tensor.js";
import { tinyModel } from "./tiny-model.js";

// Two right-padded rows of T 6: row 0 scores positions 2..5, row 1 (4 real tokens) scores 1..3.
const inputs = [
  [3, 5, 7, 9, 11, 13],
  [4, 6, 8, 10, 0, 0],
];
const targets = [
  [5, 7, 9, 11, 13, 15],
  [6, 8, 10, 12, 0, 0],
];
const attentionMask = [
  [1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0],
];
const scored = [
  [0, 0, 1, 1, 1, 1],
  [0, 1, 1, 1, 0, 0],
];
// LD-DPO-style weights: a scored position may weigh less than 1, or nothing.
const weights = [
  [0, 0, 1, 1, 0.5, 0.25],
  [0, 1, 0, 1, 0, 0],
];

/** Σ log p per row, the trainable parameters' gradients of Σ_b (b + 1) · row_b, and the model. */
function run(arch: "llama" | "qwen2", lora: boolean, score: (model: LlamaModel) => Tensor) {
  const model = tinyModel(arch, 7, !lora);
  if (lora) {
    model.applyLora({ rank: 2, alpha: 4, seed: 3 });
    // B starts at zero; give it values so the adapters change the logits.
    for (const [name, p] of model.trainableParameters()) if (name.includes("lora_B")) p.data.fill(0.05);
  }
  const logps = score(model);
  logps
    .mul(tensor([1, 2]))
    .sum()
    .backward();
  const grads = [...model.trainableParameters()].map(([name, p]) => [name, p.grad!.toArray()] as const);
  return { values: logps.toArray(), grads };
}

describe("scorePositions (scored rows only, through the fused lm_head)", () => {
  it.each([
    ["llama", "full (own lm_head)", false],
    ["qwen2", "full (tied embedding: dW meets the embedding's gradient)", false],
    ["qwen2", "LoRA", true],
  ] as const)("%s, %s fine-tuning: equals the logits path in values and every gradient", (arch, _kind, lora) => {
    const mask = scored.map((row, b) => row.map((s, t) => s * weights[b]![t]!));
    const fused = run(arch, lora, (m) => scorePositions(m, inputs, { attentionMask, targets, scored, weights }).logps);
    const plain = run(arch, lora, (m) => sequenceLogprobs(m.forward(inputs, { attentionMask }), targets, mask));
    fused.values.forEach((v, b) => expect(v).toBeCloseTo(plain.values[b]!, 5));
    expect(fused.grads.length).toBe(plain.grads.length);
    fused.grads.forEach(([name, g], i) => {
      expect(name).toBe(plain.grads[i]![0]);
      const worst = Math.max(...g.map((x, j) => Math.abs(x - plain.grads[i]![1][j]!)));
      expect(worst).toBeLessThan(1e-5);
    });
  });

  it("sums the argmax hits, entropies and mean logits over each row's scored positions", () => {
    const model = tinyModel("llama", 7);
    const out = scorePositions(model, inputs, { attentionMask, targets, scored, stats: true });
    const logits = model.forward(inputs, { attentionMask });
    const V = logits.dim(-1);
    const expected = { correct: [0, 0], entropy: [0, 0], logitMean: [0, 0], tokens: [0, 0] };
    scored.forEach((row, b) =>
      row.forEach((s, t) => {
        if (s === 0) return;
        const z = Array.from(logits.data.subarray((b * 6 + t) * V, (b * 6 + t + 1) * V));
        const max = Math.max(...z);
        const lse = max + Math.log(z.reduce((acc, v) => acc + Math.exp(v - max), 0));
        const p = z.map((v) => Math.exp(v - lse));
        expected.correct[b]! += z.indexOf(max) === targets[b]![t]! ? 1 : 0;
        expected.entropy[b]! += -p.reduce((acc, pv, v) => acc + pv * (z[v]! - lse), 0);
        expected.logitMean[b]! += z.reduce((a, v) => a + v, 0) / V;
        expected.tokens[b]! += 1;
      }),
    );
    expect(out.tokens).toEqual([4, 3]);
    expect(out.correct).toEqual(expected.correct);
    out.entropy!.forEach((h, b) => expect(h).toBeCloseTo(expected.entropy[b]!, 4));
    out.logitMean!.forEach((m, b) => expect(m).toBeCloseTo(expected.logitMean[b]!, 5));
  });

  it("refuses a batch with no scored position", () => {
    const none = scored.map((row) => row.map(() => 0));
    expect(() => scorePositions(tinyModel("llama"), inputs, { targets, scored: none })).toThrow(
      /no position is scored/,
    );
  });
});
