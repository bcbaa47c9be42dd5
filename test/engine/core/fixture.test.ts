/**
 * Whole-model check against tiny-llama.json, made by fixtures/make_tiny_llama.py (an independent
 * float64 NumPy forward with Hugging Face semantics and finite-difference gradients): step 0 compares
 * logits, loss and every gradient; then AdamW steps follow the recorded loss trajectory.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crossEntropy } from "../../../src/engine/nn/functional.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import type { ModelConfig, WeightMap } from "../../../src/engine/models/config.js";
import { AdamW } from "../../../src/engine/optim.js";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";

interface FixtureCase {
  config: ModelConfig;
  weights: Record<string, { shape: number[]; data: number[] }>;
  inputIds: number[][];
  attentionMask: number[][];
  targets: number[][];
  lossMask: number[][];
  logits: number[];
  loss: number;
  gradients: Record<string, number[]>;
  adamw: { lr: number; weightDecay: number; betas: [number, number]; eps: number; losses: number[] };
}

const fixture = JSON.parse(readFileSync(new URL("./fixtures/tiny-llama.json", import.meta.url), "utf8")) as {
  version: number;
  cases: FixtureCase[];
};

function load(c: FixtureCase): LlamaModel {
  const weights: WeightMap = new Map(
    Object.entries(c.weights).map(([name, w]) => [name, { shape: w.shape, data: Float32Array.from(w.data) }]),
  );
  return LlamaModel.fromWeights(c.config, weights, { trainable: true });
}

const native = loadNativeBackend();
const backends: Backend[] = native ? [tsBackend, native] : [tsBackend];
const runs = backends.flatMap((b) =>
  fixture.cases.map((c) => [`${c.config.architecture} on ${b.name}`, c, b] as const),
);

it("fixture version is 1", () => expect(fixture.version).toBe(1));

describe.each(runs)("%s against the NumPy fixture", (arch, c, which) => {
  it("step 0: logits, loss and every gradient", () =>
    withBackend(which, () => {
      const model = load(c);
      const logits = model.forward(c.inputIds, { attentionMask: c.attentionMask });
      const [B, T, V] = logits.shape as [number, number, number];
      let worstLogit = 0;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          if (c.attentionMask[b]![t] === 0) continue; // padded queries are not defined the same way
          for (let v = 0; v < V; v++) {
            const i = (b * T + t) * V + v;
            worstLogit = Math.max(worstLogit, Math.abs(logits.data[i]! - c.logits[i]!));
          }
        }
      }
      const loss = crossEntropy(logits, c.targets, c.lossMask);
      loss.backward();
      let worstGrad = 0;
      let worstName = "";
      for (const [name, p] of model.namedParameters()) {
        const expected = c.gradients[name]!;
        expect(expected, `fixture lacks ${name}`).toBeDefined();
        const scale = Math.max(1e-3, ...expected.map(Math.abs));
        for (let i = 0; i < expected.length; i++) {
          const diff = Math.abs(p.grad!.data[i]! - expected[i]!) / scale;
          if (diff > worstGrad) [worstGrad, worstName] = [diff, `${name}[${i}]`];
        }
      }
      console.log(
        `${arch}: logits[0, 2, 0..2] ${Array.from(logits.data.slice(2 * V, 2 * V + 3), (v) => v.toFixed(5))} vs ${c.logits.slice(2 * V, 2 * V + 3).map((v) => v.toFixed(5))}; ` +
          `max |Δlogit| ${worstLogit.toExponential(2)}; loss ${loss.item().toFixed(6)} vs ${c.loss.toFixed(6)}; max relative Δgrad ${worstGrad.toExponential(2)} at ${worstName}`,
      );
      expect(worstLogit).toBeLessThan(1e-5);
      expect(Math.abs(loss.item() - c.loss)).toBeLessThan(1e-5);
      expect(worstGrad).toBeLessThan(1e-5);
    }));

  it("AdamW steps follow the recorded loss trajectory", () =>
    withBackend(which, () => {
      const model = load(c);
      const params = model.namedParameters();
      const { lr, weightDecay, betas, eps, losses } = c.adamw;
      const opt = new AdamW(params, { lr, weightDecay, betas, eps });
      const trajectory: number[] = [];
      for (let step = 0; step < losses.length; step++) {
        opt.zeroGrad();
        const loss = crossEntropy(model.forward(c.inputIds, { attentionMask: c.attentionMask }), c.targets, c.lossMask);
        trajectory.push(loss.item());
        if (step === losses.length - 1) break;
        loss.backward();
        opt.step();
      }
      console.log(
        `${arch}: losses ${trajectory.map((l) => l.toFixed(6)).join(" ")} vs ${losses.map((l) => l.toFixed(6)).join(" ")}`,
      );
      trajectory.forEach((l, i) => expect(Math.abs(l - losses[i]!), `step ${i}`).toBeLessThan(2e-5));
    }));
});
