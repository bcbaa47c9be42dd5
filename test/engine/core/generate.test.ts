import { describe, expect, it } from "vitest";
import {
  generate,
  sampleToken,
  scoreContinuations,
  type GenerateOptions,
  type Generation,
} from "../../../src/engine/models/generate.js";
import type { LlamaModel } from "../../../src/engine/models/llama.js";
import { logSoftmax } from "../../../src/engine/ops.js";
import { Rng } from "../../../src/engine/random.js";
import { noGrad } from "../../../src/engine/tensor.js";
import { tinyModel } from "./tiny-model.js";

const prompts = [[5, 9, 3], [4, 1, 16, 7, 7, 2, 8], [13]];

/** Generation without a cache: the whole (left-padded) sequence goes through forward every step. */
function referenceGenerate(model: LlamaModel, promptIds: number[][], options: GenerateOptions): Generation[] {
  const rng = new Rng(options.seed ?? 0);
  const longest = Math.max(...promptIds.map((p) => p.length));
  const seqs = promptIds.map((p) => [...new Array<number>(longest - p.length).fill(0), ...p]);
  const mask = promptIds.map((p) => [
    ...new Array<number>(longest - p.length).fill(0),
    ...new Array<number>(p.length).fill(1),
  ]);
  const out: Generation[] = promptIds.map(() => ({ tokens: [], finishReason: "length" }));
  const done = promptIds.map(() => false);
  noGrad(() => {
    for (let step = 0; step < options.maxNewTokens && !done.every(Boolean); step++) {
      const logits = model.forward(seqs, { attentionMask: mask });
      const [B, T, V] = logits.shape as [number, number, number];
      for (let b = 0; b < B; b++) {
        let token = 0;
        if (!done[b]) {
          token = sampleToken(logits.data.subarray((b * T + T - 1) * V, (b * T + T) * V), options, rng);
          if (options.stopTokenIds?.includes(token)) {
            done[b] = true;
            out[b]!.finishReason = "stop";
          } else out[b]!.tokens.push(token);
        }
        seqs[b]!.push(token);
        mask[b]!.push(1);
      }
    }
  });
  return out;
}

describe.each(["llama", "qwen2"] as const)("%s generation", (arch) => {
  const model = tinyModel(arch, 2);

  it.each([
    ["greedy", { maxNewTokens: 8, temperature: 0 }],
    ["sampled", { maxNewTokens: 8, temperature: 0.9, topK: 6, topP: 0.9, seed: 11 }],
    ["sampled, plain", { maxNewTokens: 6, temperature: 1.3, seed: 5 }],
  ] as [string, GenerateOptions][])("KV-cache %s decoding matches a full forward per step", (_name, options) => {
    const cached = generate(model, prompts, options);
    expect(cached).toEqual(referenceGenerate(model, prompts, options));
    expect(cached.every((g) => g.tokens.length === options.maxNewTokens)).toBe(true);
  });

  it("gives a prompt the same greedy tokens alone as in a batch", () => {
    const batched = generate(model, prompts, { maxNewTokens: 6, temperature: 0 });
    prompts.forEach((p, i) => expect(generate(model, [p], { maxNewTokens: 6, temperature: 0 })[0]).toEqual(batched[i]));
  });

  it("stops a sequence at a stop token and leaves it out", () => {
    const free = generate(model, prompts, { maxNewTokens: 6, temperature: 0 });
    const stopAt = free[1]!.tokens[2]!;
    const stopped = generate(model, prompts, { maxNewTokens: 6, temperature: 0, stopTokenIds: [stopAt] });
    const firstHit = free[1]!.tokens.indexOf(stopAt);
    expect(stopped[1]).toEqual({ tokens: free[1]!.tokens.slice(0, firstHit), finishReason: "stop" });
    expect(stopped).toEqual(
      referenceGenerate(model, prompts, { maxNewTokens: 6, temperature: 0, stopTokenIds: [stopAt] }),
    );
  });

  it("scores continuations like a full forward, batched or not", () => {
    const greedy = generate(model, [[5, 9, 3]], { maxNewTokens: 3, temperature: 0 })[0]!.tokens;
    const requests = [
      { contextIds: [5, 9, 3], continuationIds: greedy },
      { contextIds: [5, 9, 3], continuationIds: [(greedy[0]! + 1) % 17, 4] },
      { contextIds: [4, 1, 16, 7, 7], continuationIds: [2] },
      { contextIds: [13], continuationIds: [6, 6, 6, 6] },
    ];
    const scores = scoreContinuations(model, requests, { batchSize: 3 });
    expect(scores[0]!.isGreedy).toBe(true);
    expect(scores[1]!.isGreedy).toBe(false);
    requests.forEach((r, i) => {
      const seq = [...r.contextIds, ...r.continuationIds];
      const logprobs = noGrad(() => logSoftmax(model.forward([seq.slice(0, -1)])));
      const V = logprobs.dim(-1);
      let expected = 0;
      for (let t = r.contextIds.length - 1; t < seq.length - 1; t++) expected += logprobs.data[t * V + seq[t + 1]!]!;
      expect(scores[i]!.logprob).toBeCloseTo(expected, 4);
      expect(scoreContinuations(model, [r])[0]!.logprob).toBeCloseTo(expected, 4);
    });
  });
});

describe("sampleToken", () => {
  const logits = Float32Array.from([0, Math.log(3), -1, 1]); // probs ∝ 1, 3, e⁻¹, e
  it("picks the argmax at temperature 0, with topK 1, or with a tiny topP", () => {
    const rng = new Rng(1);
    expect(sampleToken(logits, { temperature: 0 }, rng)).toBe(1);
    expect(sampleToken(logits, { topK: 1 }, rng)).toBe(1);
    expect(sampleToken(logits, { topP: 0.01 }, rng)).toBe(1);
  });
  it("draws with the softmax probabilities, restricted by topK", () => {
    const rng = new Rng(2);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(logits, { topK: 2 }, rng)]!++;
    // Only ids 1 and 3 survive top-2, with probabilities 3/(3+e) and e/(3+e).
    expect(counts[0]! + counts[2]!).toBe(0);
    expect(counts[1]! / 20000).toBeCloseTo(3 / (3 + Math.E), 1);
  });
  it("keeps the smallest nucleus reaching topP", () => {
    const rng = new Rng(3);
    const seen = new Set<number>();
    // p(1) ≈ 0.41, p(3) ≈ 0.37: a 0.7 nucleus holds ids 1 and 3 only.
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, { topP: 0.7 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
  });
});
