// The fused attention probabilities (fused-attention.ts) against matmul, add and softmax composed: the
// same bits forward and backward on both backends (grouped heads and a causal, padded bias); one
// score-sized buffer where the composed ops make three; and no buffer read that ruleReads leaves out.
import { afterEach, describe, expect, it } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { attentionProbs } from "../../../src/engine/fused-attention.js";
import { attentionBias } from "../../../src/engine/nn/functional.js";
import * as ops from "../../../src/engine/ops.js";
import { configurePool, poolSettings, poolStats, recycling } from "../../../src/engine/pool.js";
import { Rng } from "../../../src/engine/random.js";
import { type Tensor, uniform } from "../../../src/engine/tensor.js";

const initial = poolSettings();
afterEach(() => configurePool(initial));

// B 2, 2 kv heads of 3 query heads each, Tq = Tk = 5, D 8; the second row's first key is padding.
const [B, HKV, G, T, D] = [2, 2, 3, 5, 8];
const bias = attentionBias(
  [
    [1, 1, 1, 1, 1],
    [0, 1, 1, 1, 1],
  ],
  B,
  T,
  T,
);

function composed(q: Tensor, k: Tensor): Tensor {
  const scores = ops.matmul(q, k, { transB: true }).reshape([B, HKV, G, T, T]);
  return ops.softmax(ops.add(scores, bias.reshape([B, 1, 1, T, T]))).reshape([B, HKV, G * T, T]);
}

/** P and the gradients of sum(P·w) with respect to q and k (each made from a leaf by an op, as in a model). */
function run(probs: (q: Tensor, k: Tensor) => Tensor) {
  const qLeaf = uniform([B, HKV, G * T, D], new Rng(1), -1, 1, true);
  const kLeaf = uniform([B, HKV, T, D], new Rng(2), -1, 1, true);
  const p = probs(ops.mul(qLeaf, 1), ops.mul(kLeaf, 1));
  ops.sum(ops.mul(p, uniform(p.shape, new Rng(3), -1, 1))).backward();
  return [p.data.slice(), qLeaf.grad!.data, kLeaf.grad!.data].map((a) => [...a]);
}

const backends: [string, () => Backend | undefined][] = [
  ["ts", () => tsBackend],
  ["native", () => loadNativeBackend() ?? undefined],
];

describe("attentionProbs", () => {
  for (const [name, which] of backends)
    it(`gives the composed ops' bits forward and backward on ${name}`, () => {
      const backend = which();
      if (backend === undefined) return; // the native addon is not built here
      const fused = withBackend(backend, () => run((q, k) => attentionProbs(q, k, bias)));
      const want = withBackend(backend, () => run(composed));
      expect(fused).toEqual(want);
    });

  it("allocates one score-sized buffer in the forward", () => {
    configurePool({ enabled: true, minBytes: 0 });
    const q = uniform([B, HKV, G * T, D], new Rng(1), -1, 1, true);
    const k = uniform([B, HKV, T, D], new Rng(2), -1, 1, true);
    const before = poolStats().allocations;
    attentionProbs(q, k, bias);
    expect(poolStats().allocations - before).toBe(1);
  });

  it("reads only the buffers ruleReads declares when backward releases the tape", () => {
    const gradients = (pooled: boolean) => {
      configurePool(pooled ? { enabled: true, poison: true, minBytes: 0 } : { enabled: false });
      let result: number[][] = [];
      const body = () => (result = run((q, k) => attentionProbs(q, k, bias)).slice(1));
      if (pooled) recycling(body, { releaseTape: true });
      else body();
      return result;
    };
    const expected = gradients(false);
    expect(expected.flat().every((v) => Number.isFinite(v))).toBe(true);
    expect(gradients(true)).toEqual(expected);
  });
});
