/**
 * decode.ts runs generation's one-token steps on raw buffers; these tests hold it to the Tensor
 * forward it replaces: the same next-token logits step by step, and the same tokens out of generate.
 */
import { describe, expect, it } from "vitest";
import { DecodeSession } from "../../../src/engine/models/decode.js";
import { generate } from "../../../src/engine/models/generate.js";
import type { LlamaModel } from "../../../src/engine/models/llama.js";
import { Rng } from "../../../src/engine/random.js";
import { noGrad } from "../../../src/engine/tensor.js";
import { tinyModel } from "./tiny-model.js";

const PROMPTS = [
  [5, 3, 9, 1, 4],
  [7, 2],
  [11, 6, 8],
];

/** A model whose every linear layer carries a LoRA adapter with non-zero B (a zero B would hide it). */
function withLora(model: LlamaModel): LlamaModel {
  const rng = new Rng(3);
  for (const [name, tensor] of model.applyLora({ rank: 2, alpha: 4 }))
    if (name.includes("lora_B")) for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = 0.2 * rng.normal();
  return model;
}

/** Left-padded prompts and their attention mask, as generate builds them. */
function padded(prompts: number[][]) {
  const longest = Math.max(...prompts.map((p) => p.length));
  const mask = prompts.map((p) => [...Array<number>(longest - p.length).fill(0), ...Array<number>(p.length).fill(1)]);
  const input = prompts.map((p) => [...Array<number>(longest - p.length).fill(0), ...p]);
  return { longest, mask, input };
}

/** Next-token logits of each step, through the Tensor forward and through a DecodeSession. */
function stepLogits(model: LlamaModel, steps: number[][]) {
  return noGrad(() => {
    const { longest, mask, input } = padded(PROMPTS);
    const tensorCache = model.newCache();
    const fastCache = model.newCache();
    model.forward(input, { attentionMask: mask, cache: tensorCache, lastOnly: true });
    model.forward(input, { attentionMask: mask, cache: fastCache, lastOnly: true });
    const padding = PROMPTS.map((p) => longest - p.length);
    const session = new DecodeSession(
      model,
      fastCache,
      PROMPTS.length,
      padding,
      PROMPTS.map((p) => p.length),
      8,
    );
    return steps.map((tokens) => {
      mask.forEach((row) => row.push(1));
      const expected = model.forward(
        tokens.map((t) => [t]),
        { attentionMask: mask, cache: tensorCache, lastOnly: true },
      ).data;
      return { expected: Array.from(expected), actual: Array.from(session.step(tokens)) };
    });
  });
}

const STEPS = [
  [1, 2, 3],
  [4, 0, 16],
  [9, 9, 9],
  [15, 7, 2],
];

describe.each([
  ["llama", () => tinyModel("llama", 1)],
  ["qwen2 (q/k/v biases, tied embeddings)", () => tinyModel("qwen2", 2)],
  ["llama with LoRA on every linear layer", () => withLora(tinyModel("llama", 4))],
])("decode steps on %s", (_, build) => {
  it("give the Tensor forward's next-token logits at every step, left padding included", () => {
    for (const { expected, actual } of stepLogits(build(), STEPS)) {
      expect(actual).toHaveLength(expected.length);
      actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
    }
  });

  it("make generate give the same tokens as the Tensor path, greedy and sampled", () => {
    const model = build();
    for (const sampling of [{ temperature: 0 }, { temperature: 1, topK: 5, seed: 7 }]) {
      const options = { maxNewTokens: 12, ...sampling };
      const fast = generate(model, PROMPTS, options);
      const tensor = generate(model, PROMPTS, { ...options, tensorDecode: true });
      expect(fast).toEqual(tensor);
      expect(fast.every((g) => g.tokens.length === 12)).toBe(true);
    }
  });
});
