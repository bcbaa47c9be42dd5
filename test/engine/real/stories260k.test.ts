import { describe, expect, it } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { loadHfModel } from "../../../src/engine/io/hf-model.js";
import { generate } from "../../../src/engine/models/generate.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { crossEntropy, tokenLogprobs } from "../../../src/engine/nn/functional.js";
import { AdamW } from "../../../src/engine/optim.js";
import { noGrad } from "../../../src/engine/tensor.js";
import { STORIES_HF, encodeReference, greedyReference, logprobsReference } from "./stories260k.js";

/**
 * The engine on a model it did not make: karpathy's trained stories260K, against outputs computed
 * outside this project (a float64 NumPy forward, llama2.c's encoder). Both backends must give the
 * reference's 200 greedy tokens exactly and its log-probs within 1e-4.
 */
const hf = await loadHfModel(STORIES_HF);
const native = loadNativeBackend();
const backends: [string, Backend | undefined][] = [
  ["ts", tsBackend],
  ["native", native],
];

describe.each(backends)("stories260K on the %s backend", (_name, backend) => {
  it.runIf(backend !== undefined)("continues BOS greedily with the reference's 200 tokens", () => {
    const model = LlamaModel.fromWeights(hf.config, hf.weights);
    const [generation] = withBackend(backend!, () =>
      generate(model, [[greedyReference.ids[0]!]], { maxNewTokens: 200, temperature: 0 }),
    );
    expect(generation!.tokens).toEqual(greedyReference.ids.slice(1));
    expect(generation!.finishReason).toBe("length");
    expect(hf.tokenizer.decode(generation!.tokens)).toBe(greedyReference.text);
  });

  it.runIf(backend !== undefined)("gives every token's log-prob within 1e-4 of the reference", () => {
    const model = LlamaModel.fromWeights(hf.config, hf.weights);
    const ids = logprobsReference.ids;
    const logprobs = withBackend(backend!, () =>
      noGrad(() => tokenLogprobs(model.forward([ids.slice(0, -1)]), [ids.slice(1)])),
    );
    expect(logprobs.shape).toEqual([1, ids.length - 1]);
    const worst = Math.max(...logprobsReference.logprobs.map((want, i) => Math.abs(logprobs.data[i]! - want)));
    expect(worst).toBeLessThan(1e-4);
    const sum = logprobs.data.reduce((s, x) => s + x, 0);
    expect(Math.abs(sum - logprobsReference.sum)).toBeLessThan(1e-4);
  });
});

describe("stories260K tokenizer", () => {
  it.each(encodeReference.cases)("encodes $text as llama2.c does", ({ text, ids }) => {
    expect(hf.tokenizer.encode(text, { addSpecialTokens: false })).toEqual(ids);
    expect(hf.tokenizer.encode(text)).toEqual([1, ...ids]);
  });
});

/** TinyStories-style text, written here: a few short stories of the kind the model was trained on. */
const STORIES = [
  "Once upon a time, there was a little cat named Tom. Tom liked to play with a red ball in the garden.",
  "One day, a girl named Sue went to the park with her mom. She saw a big tree and wanted to climb it.",
  "Tom and Sue were friends. They played all day and then they went home to eat cake with their dad.",
  "The little dog was sad because he lost his toy. His friend the bird helped him find it under the bed.",
];

describe("stories260K LoRA SFT", () => {
  it("lowers the loss on the stories in a few steps", () => {
    const model = LlamaModel.fromWeights(hf.config, hf.weights);
    const adapters = model.applyLora({ rank: 8, alpha: 16, seed: 3 });
    model.train(true);
    const optimizer = new AdamW(adapters, { lr: 1e-2, weightDecay: 0 });
    const rows = STORIES.map((story) => hf.tokenizer.encode(story));
    const length = Math.min(...rows.map((row) => row.length));
    const batch = rows.map((row) => row.slice(0, length));
    const inputs = batch.map((row) => row.slice(0, -1));
    const targets = batch.map((row) => row.slice(1));
    const lossNow = (): number => noGrad(() => crossEntropy(model.forward(inputs), targets).item());

    const before = lossNow();
    for (let step = 0; step < 8; step++) {
      optimizer.zeroGrad();
      const loss = crossEntropy(model.forward(inputs), targets);
      loss.backward();
      optimizer.step();
    }
    const after = lossNow();
    // Measured: 1.18 nats per token before, 0.06 after (the adapters memorise the four stories).
    expect(before).toBeGreaterThan(1);
    expect(after).toBeLessThan(before / 2);
    // Only the adapters moved: switching them off gives the base model's loss back.
    model.setAdaptersEnabled(false);
    expect(lossNow()).toBeCloseTo(before, 5);
  });
});
