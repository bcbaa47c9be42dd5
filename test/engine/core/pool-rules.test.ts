// Every gradient rule under a recycling scope that releases the tape: with released buffers poisoned
// (NaN) and every buffer pooled, the gradients must equal those computed without the pool, for each
// combination of which operands require a gradient. A rule reading a buffer that `ruleReads` does not
// declare (so freed early) shows up here as NaN.
import { afterEach, describe, expect, it } from "vitest";
import { lmHeadLogprobs } from "../../../src/engine/fused-lm-head.js";
import * as ops from "../../../src/engine/ops.js";
import { configurePool, poolSettings, recycling } from "../../../src/engine/pool.js";
import { Rng } from "../../../src/engine/random.js";
import { Tensor, uniform } from "../../../src/engine/tensor.js";

const initial = poolSettings();
afterEach(() => configurePool(initial));

type Case = [name: string, shapes: number[][], f: (...xs: Tensor[]) => Tensor, positive?: boolean];

const angles = {
  cos: uniform([2, 3, 4], new Rng(11), -1, 1),
  sin: uniform([2, 3, 4], new Rng(12), -1, 1),
};
const CASES: Case[] = [
  ["neg", [[4, 8]], (x) => ops.neg(x)],
  ["exp", [[4, 8]], (x) => ops.exp(x)],
  ["log", [[4, 8]], (x) => ops.log(x), true],
  ["sqrt", [[4, 8]], (x) => ops.sqrt(x), true],
  ["rsqrt", [[4, 8]], (x) => ops.rsqrt(x), true],
  ["recip", [[4, 8]], (x) => ops.recip(x), true],
  ["sigmoid", [[4, 8]], (x) => ops.sigmoid(x)],
  [
    "add",
    [
      [4, 8],
      [1, 8],
    ],
    (a, b) => ops.add(a, b),
  ],
  [
    "sub",
    [
      [4, 8],
      [4, 8],
    ],
    (a, b) => ops.sub(a, b),
  ],
  [
    "mul",
    [
      [4, 8],
      [4, 1],
    ],
    (a, b) => ops.mul(a, b),
  ],
  [
    "div",
    [
      [4, 8],
      [4, 8],
    ],
    (a, b) => ops.div(a, b),
    true,
  ],
  [
    "maximum",
    [
      [4, 8],
      [4, 8],
    ],
    (a, b) => ops.maximum(a, b),
  ],
  ["sum", [[4, 8]], (x) => ops.sum(x, 1, true)],
  ["max", [[4, 8]], (x) => ops.max(x, 1, true)],
  ["reshape", [[4, 8]], (x) => ops.exp(x).reshape([8, 4])],
  ["permute", [[2, 4, 8]], (x) => ops.permute(x, [2, 0, 1])],
  ["expand", [[1, 8]], (x) => ops.expand(x, [4, 8])],
  ["slice", [[4, 8]], (x) => ops.slice(x, 1, 2, 6)],
  ["pad", [[4, 8]], (x) => ops.pad(x, 0, 1, 2)],
  [
    "cat",
    [
      [4, 8],
      [2, 8],
    ],
    (a, b) => ops.cat([a, b], 0),
  ],
  [
    "matmul",
    [
      [4, 8],
      [8, 6],
    ],
    (a, b) => ops.matmul(a, b),
  ],
  [
    "matmul transA",
    [
      [8, 4],
      [8, 6],
    ],
    (a, b) => ops.matmul(a, b, { transA: true }),
  ],
  [
    "matmul transB",
    [
      [2, 4, 8],
      [6, 8],
    ],
    (a, b) => ops.matmul(a, b, { transB: true }),
  ],
  ["gather", [[5, 8]], (t) => ops.gather(t, [4, 0, 4, 2])],
  ["scatterAdd", [[4, 8]], (x) => ops.scatterAdd(x, [1, 3, 1, 0], 5)],
  ["rmsnorm", [[4, 8], [8]], (x, w) => ops.rmsnorm(x, w, 1e-5)],
  // cos and sin made in the scope too, so that they are pooled and could be freed early.
  ["rope", [[2, 3, 2, 8]], (x) => ops.rope(x, ops.mul(angles.cos, 1), ops.mul(angles.sin, 1))],
  ["softmax", [[4, 8]], (x) => ops.softmax(x)],
  ["logSoftmax", [[4, 8]], (x) => ops.logSoftmax(x)],
  [
    "siluMul",
    [
      [4, 8],
      [4, 8],
    ],
    (a, b) => ops.siluMul(a, b),
  ],
  [
    "lmHeadLogprobs",
    [
      [4, 8],
      [6, 8],
    ],
    // Two rows per chunk, so the weight gradient recomputes the logits of each chunk from hidden.
    (h, w) => lmHeadLogprobs(h, w, [0, 5, 2, 3], { chunkElements: 12 }).logprobs,
  ],
];

/** The leaves' gradients of sum(f(inputs)·weights), each input made inside the scope from its leaf. */
function gradients([, shapes, f, positive]: Case, needs: boolean[], pooled: boolean): (number[] | null)[] {
  configurePool(pooled ? { enabled: true, poison: true, minBytes: 0 } : { enabled: false });
  const rng = new Rng(3);
  const leaves = shapes.map((s, i) => uniform(s, rng, positive ? 0.5 : -2, 2, needs[i]));
  const body = (): void => {
    // mul by 1 puts each operand on the tape (or, without a gradient, in the scope) as an op output.
    const xs = leaves.map((leaf) => ops.mul(leaf, 1));
    const y = f(...xs);
    const weights = uniform(y.shape, new Rng(5), -1, 1);
    ops.sum(ops.mul(y, weights)).backward();
  };
  if (pooled) recycling(body, { releaseTape: true });
  else body();
  return leaves.map((leaf) => (leaf.grad === null ? null : leaf.toArray().length ? leaf.grad.toArray() : null));
}

describe("gradient rules with the tape released in backward", () => {
  for (const c of CASES) {
    const arity = c[1].length;
    const combos =
      arity === 1
        ? [[true]]
        : [
            [true, true],
            [true, false],
            [false, true],
          ];
    for (const needs of combos) {
      it(`${c[0]} (${needs.map((n) => (n ? "grad" : "const")).join(", ")})`, () => {
        const expected = gradients(c, needs, false);
        expect(
          expected
            .flat()
            .filter((v) => v !== null)
            .every((v) => Number.isFinite(v)),
        ).toBe(true);
        expect(gradients(c, needs, true)).toEqual(expected);
      });
    }
  }
});
