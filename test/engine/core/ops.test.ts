import { describe, expect, it } from "vitest";
import { checkOp, type CheckOpOptions } from "../../helpers/check-op.js";
import * as ops from "../../../src/engine/ops.js";
import {
  attention,
  attentionBias,
  crossEntropy,
  dropout,
  pickLast,
  sequenceLogprobs,
  silu,
  tokenLogprobs,
} from "../../../src/engine/nn/functional.js";
import { Rng } from "../../../src/engine/random.js";
import { Tensor, tensor } from "../../../src/engine/tensor.js";
import {
  broadcast2,
  logSoftmaxRow,
  matmulRef,
  padMask,
  reduceAxis,
  ropeAngles,
  rowwise,
  sigmoid,
  softmaxRow,
} from "./reference.js";

type Case = [string, number[][], (...xs: Tensor[]) => Tensor, CheckOpOptions?];

const P = "positive" as const;
const map = (f: (v: number) => number) => (x: number[]) => x.map(f);

const angles = ropeAngles();
const ropeRef = (x: number[]): number[] =>
  x.map((_, flat) => {
    const i = flat % 8;
    const bt = Math.floor(flat / (3 * 8)); // (b, t) index; 3 heads
    const half = i % 4;
    const c = angles.cos.data[bt * 4 + half]!;
    const s = angles.sin.data[bt * 4 + half]!;
    return i < 4 ? x[flat]! * c - x[flat + 4]! * s : x[flat]! * c + x[flat - 4]! * s;
  });

const ids = [2, 0, 3, 3, 1];
const targets = [
  [1, 4, 0],
  [2, 2, 3],
];
const completion = [
  [0, 1, 1],
  [1, 1, 0],
];

const cases: Case[] = [
  // unary
  ["neg", [[3, 4]], (x) => ops.neg(x), { reference: map((v) => -v) }],
  ["exp", [[3, 4]], (x) => ops.exp(x), { reference: map(Math.exp) }],
  ["log", [[3, 4]], (x) => ops.log(x), { init: P, reference: map(Math.log) }],
  ["sqrt", [[3, 4]], (x) => ops.sqrt(x), { init: P, reference: map(Math.sqrt) }],
  ["rsqrt", [[3, 4]], (x) => ops.rsqrt(x), { init: P, reference: map((v) => 1 / Math.sqrt(v)) }],
  ["recip", [[3, 4]], (x) => ops.recip(x), { init: P, reference: map((v) => 1 / v) }],
  ["sigmoid", [[3, 4]], (x) => ops.sigmoid(x), { reference: map(sigmoid) }],
  // binary with broadcasting
  [
    "add",
    [
      [2, 3, 4],
      [3, 1],
    ],
    (a, b) => ops.add(a, b),
    { reference: broadcast2([2, 3, 4], [3, 1], (x, y) => x + y) },
  ],
  [
    "sub",
    [
      [3, 1],
      [2, 1, 4],
    ],
    (a, b) => ops.sub(a, b),
    { reference: broadcast2([3, 1], [2, 1, 4], (x, y) => x - y) },
  ],
  ["mul", [[2, 3, 4], [4]], (a, b) => ops.mul(a, b), { reference: broadcast2([2, 3, 4], [4], (x, y) => x * y) }],
  [
    "div",
    [
      [2, 3, 4],
      [2, 1, 1],
    ],
    (a, b) => ops.div(a, b),
    { init: ["normal", P], reference: broadcast2([2, 3, 4], [2, 1, 1], (x, y) => x / y) },
  ],
  ["mul by scalar", [[5]], (a) => ops.mul(a, 3), { reference: map((v) => 3 * v) }],
  [
    "maximum",
    [[3, 4], [4]],
    (a, b) => ops.maximum(a, b),
    { init: "distinct", reference: broadcast2([3, 4], [4], Math.max) },
  ],
  // reduce
  [
    "sum axis 1",
    [[2, 3, 4]],
    (x) => ops.sum(x, 1),
    { reference: reduceAxis([2, 3, 4], 1, (v) => v.reduce((a, b) => a + b)) },
  ],
  [
    "sum last keepdim",
    [[2, 3, 4]],
    (x) => ops.sum(x, -1, true),
    { reference: reduceAxis([2, 3, 4], 2, (v) => v.reduce((a, b) => a + b)) },
  ],
  ["sum all", [[2, 3]], (x) => ops.sum(x), { reference: (x) => [x.reduce((a, b) => a + b)] }],
  [
    "max axis 0",
    [[3, 4]],
    (x) => ops.max(x, 0),
    { init: "distinct", reference: reduceAxis([3, 4], 0, (v) => Math.max(...v)) },
  ],
  [
    "max last",
    [[2, 5]],
    (x) => ops.max(x, -1),
    { init: "distinct", reference: reduceAxis([2, 5], 1, (v) => Math.max(...v)) },
  ],
  [
    "mean axis 1",
    [[2, 3, 2]],
    (x) => ops.mean(x, 1),
    { reference: reduceAxis([2, 3, 2], 1, (v) => v.reduce((a, b) => a + b) / 3) },
  ],
  // movement
  [
    "reshape",
    [[2, 6]],
    (x) => ops.reshape(x, [3, -1]).mul(tensor([1, 2, 3, 4], [4])),
    { reference: (x) => x.map((v, i) => v * ((i % 4) + 1)) },
  ],
  ["permute", [[2, 3, 4]], (x) => ops.permute(x, [2, 0, 1])],
  [
    "transpose",
    [[3, 4]],
    (x) => ops.transpose(x, 0, 1),
    { reference: (x) => Array.from({ length: 12 }, (_, i) => x[(i % 3) * 4 + Math.floor(i / 3)]!) },
  ],
  [
    "expand",
    [[3, 1]],
    (x) => ops.expand(x, [2, 3, 4]),
    { reference: (x) => Array.from({ length: 24 }, (_, i) => x[Math.floor(i / 4) % 3]!) },
  ],
  [
    "slice",
    [[3, 5]],
    (x) => ops.slice(x, 1, 1, 4),
    { reference: (x) => [0, 1, 2].flatMap((r) => x.slice(r * 5 + 1, r * 5 + 4)) },
  ],
  ["pad", [[2, 3]], (x) => ops.pad(x, 0, 1, 2), { reference: (x) => [0, 0, 0, ...x, 0, 0, 0, 0, 0, 0] }],
  [
    "cat",
    [
      [2, 2],
      [2, 3],
    ],
    (a, b) => ops.cat([a, b], 1),
    { reference: (a, b) => [...a.slice(0, 2), ...b.slice(0, 3), ...a.slice(2), ...b.slice(3)] },
  ],
  // matmul
  // (m ≥ 4 takes the packed path of the ts kernel, m < 4 the direct one; odd sizes hit the tile edges)
  [
    "matmul small m",
    [
      [3, 4],
      [4, 5],
    ],
    (a, b) => ops.matmul(a, b),
    { reference: matmulRef([3, 4], [4, 5]) },
  ],
  [
    "matmul",
    [
      [5, 6],
      [6, 7],
    ],
    (a, b) => ops.matmul(a, b),
    { reference: matmulRef([5, 6], [6, 7]) },
  ],
  [
    "matmul transA",
    [
      [6, 5],
      [6, 7],
    ],
    (a, b) => ops.matmul(a, b, { transA: true }),
    { reference: matmulRef([6, 5], [6, 7], true) },
  ],
  [
    "matmul transB",
    [
      [5, 6],
      [7, 6],
    ],
    (a, b) => ops.matmul(a, b, { transB: true }),
    { reference: matmulRef([5, 6], [7, 6], false, true) },
  ],
  [
    "matmul transA transB",
    [
      [6, 5],
      [7, 6],
    ],
    (a, b) => ops.matmul(a, b, { transA: true, transB: true }),
    { reference: matmulRef([6, 5], [7, 6], true, true) },
  ],
  [
    "matmul batched",
    [
      [2, 5, 4],
      [2, 4, 3],
    ],
    (a, b) => ops.matmul(a, b),
    { reference: matmulRef([2, 5, 4], [2, 4, 3]) },
  ],
  [
    "matmul shared b",
    [
      [2, 3, 4],
      [4, 5],
    ],
    (a, b) => ops.matmul(a, b),
    { reference: matmulRef([2, 3, 4], [4, 5]) },
  ],
  [
    "matmul shared a",
    [
      [3, 4],
      [2, 5, 4],
    ],
    (a, b) => ops.matmul(a, b, { transB: true }),
    { reference: matmulRef([3, 4], [2, 5, 4], false, true) },
  ],
  [
    "matmul shared a, transA",
    [
      [4, 5],
      [2, 4, 6],
    ],
    (a, b) => ops.matmul(a, b, { transA: true }),
    { reference: matmulRef([4, 5], [2, 4, 6], true) },
  ],
  [
    "matmul shared b, transA",
    [
      [2, 4, 5],
      [1, 4, 6],
    ],
    (a, b) => ops.matmul(a, b, { transA: true }),
    { reference: matmulRef([2, 4, 5], [1, 4, 6], true) },
  ],
  [
    "matmul mixed broadcast",
    [
      [2, 1, 3, 4],
      [1, 3, 4, 2],
    ],
    (a, b) => ops.matmul(a, b),
    { reference: matmulRef([2, 1, 3, 4], [1, 3, 4, 2]) },
  ],
  // gather / scatter-add
  [
    "gather",
    [[4, 3]],
    (t) => ops.gather(t, ids, [5]),
    { reference: (t) => ids.flatMap((i) => t.slice(i * 3, i * 3 + 3)) },
  ],
  ["scatterAdd", [[5, 3]], (s) => ops.scatterAdd(s, ids, 4)],
  // fused
  [
    "rmsnorm",
    [[2, 3, 8], [8]],
    (x, w) => ops.rmsnorm(x, w, 1e-5),
    {
      reference: (x, w) =>
        rowwise(8, (r) => {
          const s = 1 / Math.sqrt(r.reduce((a, v) => a + v * v, 0) / 8 + 1e-5);
          return r.map((v, j) => v * s * w[j]!);
        })(x),
    },
  ],
  ["rope", [[2, 4, 3, 8]], (x) => ops.rope(x, angles.cos, angles.sin), { reference: ropeRef }],
  ["softmax", [[3, 5]], (x) => ops.softmax(x), { reference: rowwise(5, softmaxRow) }],
  ["logSoftmax", [[3, 5]], (x) => ops.logSoftmax(x), { reference: rowwise(5, logSoftmaxRow) }],
  [
    "siluMul",
    [
      [3, 4],
      [3, 4],
    ],
    (a, b) => ops.siluMul(a, b),
    { reference: (a, b) => a.map((v, i) => v * sigmoid(v) * b[i]!) },
  ],
  // composites
  ["silu", [[3, 4]], (x) => silu(x), { reference: map((v) => v * sigmoid(v)) }],
  ["dropout", [[4, 5]], (x) => dropout(x, 0.5, new Rng(3))],
  ["pickLast", [[2, 3, 5]], (x) => pickLast(x, [0, 4, 2, 1, 1, 3])],
  [
    "attention GQA + padding",
    [
      [2, 4, 5, 4],
      [2, 2, 5, 4],
      [2, 2, 5, 4],
    ],
    (q, k, v) => attention(q, k, v, attentionBias(padMask, 2, 5, 5)),
  ],
  [
    "attention with cached keys",
    [
      [1, 2, 2, 4],
      [1, 1, 5, 4],
      [1, 1, 5, 4],
    ],
    (q, k, v) => attention(q, k, v, attentionBias(null, 1, 2, 5)),
  ],
  ["tokenLogprobs", [[2, 3, 5]], (x) => tokenLogprobs(x, targets)],
  [
    "sequenceLogprobs",
    [[2, 3, 5]],
    (x) => sequenceLogprobs(x, targets, completion),
    {
      reference: (x) =>
        [0, 1].map((b) =>
          [0, 1, 2].reduce(
            (s, t) =>
              s + completion[b]![t]! * logSoftmaxRow(x.slice((b * 3 + t) * 5, (b * 3 + t + 1) * 5))[targets[b]![t]!]!,
            0,
          ),
        ),
    },
  ],
  ["crossEntropy", [[2, 3, 5]], (x) => crossEntropy(x, targets, completion)],
];

describe("op gradients and values (checkOp)", () => {
  it.each(cases)("%s", (label, shapes, fn, options) => {
    const report = checkOp(shapes, fn, { label, ...options });
    expect(report.checked).toBeGreaterThan(0);
  });
});
