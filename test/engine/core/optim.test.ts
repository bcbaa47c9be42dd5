import { describe, expect, it } from "vitest";
import { AdamW, clipGradNorm } from "../../../src/engine/optim.js";
import { crossEntropy } from "../../../src/engine/nn/functional.js";
import { sum, mul } from "../../../src/engine/ops.js";
import { tensor, type Tensor } from "../../../src/engine/tensor.js";
import { tinyModel } from "./tiny-model.js";

/** Float64 AdamW as written in the paper's Algorithm 2 with torch's bias corrections. */
function referenceAdamW(
  w: number[],
  grads: (w: number[]) => number[],
  steps: number,
  lr: number,
  wd: number,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-8,
): number[] {
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const g = grads(w);
    w = w.map((wi, i) => {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      const mHat = m[i]! / (1 - b1 ** t);
      const vHat = v[i]! / (1 - b2 ** t);
      return wi - lr * wd * wi - (lr * mHat) / (Math.sqrt(vHat) + eps);
    });
  }
  return w;
}

// loss = Σ c_i w_i², gradient 2 c_i w_i
const c = [1, 0.5, 3, 0.1];
const quadratic = (w: Tensor): Tensor => sum(mul(mul(w, w), tensor(c)));

function run(opt: AdamW, w: Tensor, steps: number): void {
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    quadratic(w).backward();
    opt.step();
  }
}

describe("AdamW", () => {
  it("matches a float64 reference over several steps", () => {
    const start = [1, -2, 0.5, 3];
    const w = tensor(start, [4], true);
    run(new AdamW([w], { lr: 0.1, weightDecay: 0.05 }), w, 5);
    const expected = referenceAdamW(start, (x) => x.map((xi, i) => 2 * c[i]! * xi), 5, 0.1, 0.05);
    w.toArray().forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it("decays weights without a gradient signal (decoupled), and skips parameters with no grad", () => {
    const decaying = tensor([2, -4], [2], true);
    const untouched = tensor([1, 1], [2], true);
    const opt = new AdamW(
      new Map([
        ["a", decaying],
        ["b", untouched],
      ]),
      { lr: 0.1, weightDecay: 0.5 },
    );
    decaying.grad = tensor([0, 0]);
    opt.step();
    expect(decaying.toArray()).toEqual([2 * 0.95, -4 * 0.95].map(Math.fround));
    expect(untouched.toArray()).toEqual([1, 1]);
    expect(Object.keys(opt.stateDict().params)).toEqual(["a"]);
  });

  it("resumes from a saved state exactly", () => {
    const w = tensor([1, -2, 0.5, 3], [4], true);
    const opt = new AdamW([w], { lr: 0.05 });
    run(opt, w, 3);
    const saved = opt.stateDict();
    const savedWeights = w.toArray();
    run(opt, w, 4);
    const straight = w.toArray();

    const w2 = tensor(savedWeights, [4], true);
    const resumed = new AdamW([w2], { lr: 0.05 });
    resumed.loadStateDict(saved);
    run(resumed, w2, 4);
    expect(w2.toArray()).toEqual(straight);
  });

  it("refuses state for an unknown parameter", () => {
    const opt = new AdamW(new Map([["x", tensor([1], [1], true)]]), { lr: 0.1 });
    expect(() =>
      opt.loadStateDict({ lr: 0.1, params: { y: { step: 1, m: new Float32Array(1), v: new Float32Array(1) } } }),
    ).toThrow(/no parameter named "y"/);
  });

  it("lowers the loss of a tiny model trained through LoRA", () => {
    const model = tinyModel("qwen2", 3);
    const adapters = model.applyLora({ rank: 4, alpha: 8, seed: 1 });
    const opt = new AdamW(adapters, { lr: 0.02, weightDecay: 0 });
    const ids = [[1, 5, 9, 3, 11, 6, 2]];
    const lossNow = (): Tensor => crossEntropy(model.forward([ids[0]!.slice(0, -1)]), [ids[0]!.slice(1)]);
    const first = lossNow().item();
    for (let s = 0; s < 30; s++) {
      opt.zeroGrad();
      const loss = lossNow();
      loss.backward();
      clipGradNorm(adapters.values(), 1);
      opt.step();
    }
    expect(lossNow().item()).toBeLessThan(first * 0.5);
  });
});

describe("clipGradNorm", () => {
  it("scales gradients to the max norm and returns the norm before", () => {
    const a = tensor([0, 0], [2], true);
    const b = tensor([0], [1], true);
    a.grad = tensor([3, 0]);
    b.grad = tensor([4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5);
    expect(a.grad.data[0]).toBeCloseTo(0.6, 5);
    expect(b.grad.data[0]).toBeCloseTo(0.8, 5);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 5);
    expect(a.grad.data[0]).toBeCloseTo(0.6, 5);
  });
});
