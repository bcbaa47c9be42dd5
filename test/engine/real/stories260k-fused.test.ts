import { describe, expect, it } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { loadHfModel } from "../../../src/engine/io/hf-model.js";
import { scoreContinuations } from "../../../src/engine/models/generate.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { scorePositions } from "../../../src/engine/models/scoring.js";
import { noGrad } from "../../../src/engine/tensor.js";
import { STORIES_HF, greedyReference, logprobsReference } from "./stories260k.js";

/**
 * The scoring paths training and evaluation use (the fused lm_head), on the real stories260K against
 * its float64 NumPy reference: the same 1e-4 as the logits path in stories260k.test.ts.
 */
const hf = await loadHfModel(STORIES_HF);
const backends: [string, Backend | undefined][] = [
  ["ts", tsBackend],
  ["native", loadNativeBackend()],
];

describe.each(backends)("stories260K scoring through the fused lm_head on the %s backend", (_name, backend) => {
  const ids = logprobsReference.ids;
  const want = logprobsReference.logprobs;

  it.runIf(backend !== undefined)("scorePositions gives every scored token's log-prob within 1e-4", () => {
    const model = LlamaModel.fromWeights(hf.config, hf.weights);
    // Score every other position, and weigh each by its own one-hot, so each sum is one token's log-prob.
    const T = ids.length - 1;
    const picked = Array.from({ length: T }, (_, t) => t).filter((t) => t % 2 === 1);
    const rows = picked.map((t) => Array.from({ length: T }, (_, u) => (u === t ? 1 : 0)));
    const { logps } = withBackend(backend!, () =>
      noGrad(() =>
        scorePositions(
          model,
          rows.map(() => ids.slice(0, -1)),
          { targets: rows.map(() => ids.slice(1)), scored: rows },
        ),
      ),
    );
    const worst = Math.max(...picked.map((t, i) => Math.abs(logps.data[i]! - want[t]!)));
    expect(worst).toBeLessThan(1e-4);
  });

  it.runIf(backend !== undefined)("scoreContinuations sums the reference log-probs and tells greedy text", () => {
    const model = LlamaModel.fromWeights(hf.config, hf.weights);
    const greedyIds = greedyReference.ids.slice(1, 51);
    const altered = greedyIds.map((id, i) => (i === 20 ? (id + 1) % hf.config.vocabSize : id));
    const context = greedyReference.ids.slice(0, 1);
    const [scored, greedy, notGreedy] = withBackend(backend!, () =>
      scoreContinuations(model, [
        { contextIds: ids.slice(0, 1), continuationIds: ids.slice(1) },
        { contextIds: context, continuationIds: greedyIds },
        { contextIds: context, continuationIds: altered },
      ]),
    );
    expect(Math.abs(scored!.logprob - logprobsReference.sum)).toBeLessThan(1e-4);
    expect(greedy!.isGreedy).toBe(true);
    expect(notGreedy!.isGreedy).toBe(false);
  });
});
