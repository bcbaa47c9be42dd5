import { describe, expect, it } from "vitest";
import { checkOp, nativeToCompare } from "../../helpers/check-op.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { lmHeadLogprobs } from "../../../src/engine/fused-lm-head.js";
import * as ops from "../../../src/engine/ops.js";
import { pickLast } from "../../../src/engine/nn/functional.js";
import { Rng } from "../../../src/engine/random.js";
import { noGrad, randn, Tensor } from "../../../src/engine/tensor.js";
import { logSoftmaxRow } from "./reference.js";

// N 5 rows of C 6 against V 7 tokens; chunks of 2 rows (14 logits), so the last chunk is partial.
const N = 5;
const C = 6;
const V = 7;
const TARGETS = [3, 0, 6, 6, 2];
const CHUNK = { chunkElements: 2 * V };

/** log_softmax(h·Wᵀ)[i, t_i] in float64 from the flat inputs. */
function reference(h: number[], w: number[], targets = TARGETS): number[] {
  return targets.map((t, i) => {
    const z = Array.from({ length: V }, (_, v) => {
      let s = 0;
      for (let c = 0; c < C; c++) s += h[i * C + c]! * w[v * C + c]!;
      return s;
    });
    return logSoftmaxRow(z)[t]!;
  });
}

/** The unfused path the fused op replaces: matmul → log_softmax → gather. */
function unfused(h: Tensor, w: Tensor, targets: readonly number[]): Tensor {
  return pickLast(ops.logSoftmax(ops.matmul(h, w, { transB: true })), targets);
}

function inputs(seed: number, trainW: boolean): [Tensor, Tensor] {
  const rng = new Rng(seed);
  return [randn([N, C], rng, 1, true), randn([V, C], rng, 0.7, trainW)];
}

/** Values and gradients of one path, on one backend, under one seed-weighted loss Σ r_i · out_i. */
function run(
  backend: Backend,
  fn: (h: Tensor, w: Tensor) => Tensor,
  trainW: boolean,
): { out: number[]; dh: number[]; dw: number[] | null } {
  return withBackend(backend, () => {
    const [h, w] = inputs(11, trainW);
    const out = fn(h, w);
    const r = randn([N], new Rng(5));
    ops.sum(ops.mul(out, r)).backward();
    return { out: out.toArray(), dh: h.grad!.toArray(), dw: w.grad?.toArray() ?? null };
  });
}

function expectClose(actual: readonly number[], expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

// Native only where the addon is built (nativeToCompare warns, or fails under SEAPO_REQUIRE_NATIVE=1).
const native = nativeToCompare();
const backends: [string, Backend][] = native
  ? [
      ["ts", tsBackend],
      ["native", native],
    ]
  : [["ts", tsBackend]];

describe("lmHeadLogprobs (fused lm_head + log-softmax + gather)", () => {
  it.each([
    ["trainable weight (full fine-tuning)", [] as number[]],
    ["frozen weight (LoRA, tied embeddings)", [1]],
  ])("checkOp: values, finite differences, native vs ts — %s", (label, constants) => {
    const report = checkOp(
      [
        [N, C],
        [V, C],
      ],
      (h, w) => lmHeadLogprobs(h, w, TARGETS, CHUNK).logprobs,
      { label, constants, reference: (h, w) => reference(h, w) },
    );
    expect(report.checked).toBeGreaterThan(0);
  });

  it.each(backends)("equals the unfused path in values and both gradients on %s", (_, backend) => {
    for (const trainW of [true, false]) {
      const fused = run(backend, (h, w) => lmHeadLogprobs(h, w, TARGETS, CHUNK).logprobs, trainW);
      const plain = run(backend, (h, w) => unfused(h, w, TARGETS), trainW);
      expectClose(fused.out, plain.out, 1e-6);
      expectClose(fused.dh, plain.dh, 1e-6);
      if (trainW) expectClose(fused.dw!, plain.dw!, 1e-6);
      else expect(fused.dw).toBeNull();
    }
  });

  it("gives the same values for every chunk size, one row to all rows", () => {
    const [h, w] = inputs(3, false);
    const whole = lmHeadLogprobs(h, w, TARGETS).logprobs.toArray();
    for (const rows of [1, 2, 3, 4, 5]) {
      expectClose(lmHeadLogprobs(h, w, TARGETS, { chunkElements: rows * V }).logprobs.toArray(), whole, 1e-7);
    }
  });

  it("computes the argmax flag, entropy and mean logit of each row from the same pass", () => {
    const [h, w] = inputs(4, false);
    const logits = ops.matmul(h, w, { transB: true }).toArray();
    const rows = Array.from({ length: N }, (_, i) => logits.slice(i * V, (i + 1) * V));
    // Row 1 gets its argmax as target, so both outcomes of the flag are checked.
    const targets = rows.map((z, i) => (i === 1 ? z.indexOf(Math.max(...z)) : TARGETS[i]!));
    const { isArgmax, entropy, logitMean } = lmHeadLogprobs(h, w, targets, {
      ...CHUNK,
      greedy: true,
      entropy: true,
      logitMean: true,
    });
    rows.forEach((z, i) => {
      const p = logSoftmaxRow(z).map(Math.exp);
      const first = z.indexOf(Math.max(...z));
      expect(isArgmax![i]).toBe(first === targets[i] ? 1 : 0);
      expect(entropy![i]).toBeCloseTo(-p.reduce((s, pv) => s + (pv > 0 ? pv * Math.log(pv) : 0), 0), 5);
      expect(logitMean![i]).toBeCloseTo(z.reduce((s, v) => s + v, 0) / V, 5);
    });
    expect(isArgmax![1]).toBe(1);
  });

  it("breaks ties as argmax does: a target equal to an earlier maximum is not the argmax", () => {
    const h = new Tensor(Float32Array.of(1, 0), [1, 2]);
    const w = new Tensor(Float32Array.of(0, 1, 2, 0, 2, 0, 1, 1), [4, 2]); // logits 0, 2, 2, 1
    expect(lmHeadLogprobs(h, w, [1], { greedy: true }).isArgmax![0]).toBe(1);
    expect(lmHeadLogprobs(h, w, [2], { greedy: true }).isArgmax![0]).toBe(0);
  });

  it("records nothing without gradients, and nothing under noGrad", () => {
    const rng = new Rng(1);
    const h = randn([N, C], rng);
    const w = randn([V, C], rng);
    expect(lmHeadLogprobs(h, w, TARGETS).logprobs.requiresGrad).toBe(false);
    const hg = randn([N, C], rng, 1, true);
    expect(noGrad(() => lmHeadLogprobs(hg, w, TARGETS).logprobs.node)).toBeNull();
    expect(lmHeadLogprobs(hg, w, TARGETS).logprobs.node?.op).toBe("lmHeadLogprobs");
  });

  it("names the problem for bad shapes, targets and chunk sizes", () => {
    const [h, w] = inputs(2, false);
    expect(() => lmHeadLogprobs(h, w, [1, 2])).toThrow(/2 targets for 5 rows/);
    expect(() => lmHeadLogprobs(h, w, [0, 1, 2, 3, 7])).toThrow(/target 7 at row 4 is outside the vocabulary of 7/);
    expect(() => lmHeadLogprobs(h, w, [0, 1, 2.5, 3, 4])).toThrow(/target 2.5 at row 2/);
    expect(() => lmHeadLogprobs(h, randn([V, C + 1], new Rng(1)), TARGETS)).toThrow(
      /hidden \[N, C\] and weight \[V, C\]/,
    );
    expect(() => lmHeadLogprobs(h, w, TARGETS, { chunkElements: V - 1 })).toThrow(
      /chunkElements 6 must be an integer ≥ V = 7/,
    );
  });
});
