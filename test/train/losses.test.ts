/**
 * The loss table against the golden file, plus hand-computed checks for what the file does not
 * cover (sft, LD-DPO, the numerics helpers, KTO's KL rows).
 *
 * Golden file: $SEAPO_GOLDEN_LOSSES when set, else ../shared/golden/losses.json next to the
 * repository. Every case must match: loss, per-example losses, every metric (and no extra metric
 * keys, so KTO's absent class keys are checked too), and every gradient, via the engine's backward.
 * A case whose loss has no table entry fails; nothing is skipped.
 *
 * Metrics are computed in float64 from the inputs (each tensor keeps the float64 numbers it was
 * rounded from, keepFloat64), so every case's metrics must meet the file's float64 row
 * (rtol 1e-9, atol 1e-12), the extreme-magnitude cases included.
 *
 * Loss, per-example losses and gradients: the file's float32 row. Cases tagged `float64_only` have inputs (|ℓ| up to 2·10⁴)
 * that do not survive rounding to float32, the engine's only dtype, so the float32 row cannot
 * hold for them (the file says so). They are checked with FLOAT64_ONLY below, which still catches
 * any formula error; the largest error measured on the public file is 2.8e-4 (hinge/length_extremes).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { tensor, type Tensor } from "../../src/engine/index.js";
import { keepFloat64, log1mExp, logSigmoid } from "../../src/train/losses/common.js";
import {
  ktoKlRows,
  ldLogps,
  LOSS_NAMES,
  LOSSES,
  runLoss,
  type InputName,
  type LossName,
} from "../../src/train/losses/index.js";

const numbers = z.array(z.number());
const numberOrList = z.union([numbers, z.number()]);
const tolerance = z.object({ rtol: z.number(), atol: z.number() });
const goldenCase = z.object({
  id: z.string(),
  loss: z.string(),
  tags: z.array(z.string()),
  params: z.record(z.string(), z.number()),
  inputs: z.record(z.string(), numberOrList),
  expected: z.object({
    loss: z.number(),
    per_example_loss: numbers,
    metrics: z.record(z.string(), z.number()),
    grad: z.record(z.string(), numberOrList),
  }),
});
const goldenFile = z.object({
  tolerances: z.object({ float32: tolerance, float64: tolerance }),
  cases: z.array(goldenCase).min(1),
});
type GoldenCase = z.infer<typeof goldenCase>;
type Tolerance = z.infer<typeof tolerance>;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const goldenPath = process.env.SEAPO_GOLDEN_LOSSES ?? resolve(repoRoot, "../shared/golden/losses.json");
const golden = goldenFile.parse(JSON.parse(readFileSync(goldenPath, "utf8")));

/** See the header: formula-level check for cases whose inputs float32 cannot represent. */
const FLOAT64_ONLY: Tolerance = { rtol: 1e-3, atol: 1e-3 };

/** Losses no golden case covers, each with its own hand-computed test in this file. */
const HAND_TESTED: readonly LossName[] = ["sft"];
/** Losses with [B, K] inputs, which this file's schema cannot hold: golden-tested in listwise.test.ts. */
const LISTWISE_GOLDEN: readonly LossName[] = ["multi_dpo", "listwise_pl"];

const asList = (v: number | number[]): number[] => (Array.isArray(v) ? v : [v]);

function closeEnough(got: number, expected: number, tol: Tolerance): boolean {
  return Math.abs(got - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

/** Every disagreement of one case, as readable lines (empty when the case passes). */
function checkCase(c: GoldenCase): string[] {
  const name = c.loss as LossName;
  const spec = LOSSES[name];
  const declared = new Set<string>([...spec.inputs, ...(spec.optional ?? [])]);
  const problems: string[] = Object.keys(c.inputs)
    .filter((key) => !declared.has(key))
    .map((key) => `input ${key} is not declared by the ${name} entry`);

  // Scalars (nll_chosen) become shape [] tensors; only inputs with an expected gradient are tracked.
  const inputs: Partial<Record<InputName, Tensor>> = {};
  for (const [key, value] of Object.entries(c.inputs)) {
    const list = asList(value);
    const input = tensor(list, Array.isArray(value) ? [list.length] : [], key in c.expected.grad);
    inputs[key as InputName] = keepFloat64(input, list);
  }
  const out = runLoss(name, inputs, c.params);
  out.loss.backward();

  const tol = c.tags.includes("float64_only") ? FLOAT64_ONLY : golden.tolerances.float32;
  const compare = (what: string, got: readonly number[], expected: readonly number[]): void => {
    if (got.length !== expected.length) {
      problems.push(`${what}: ${got.length} values, expected ${expected.length}`);
      return;
    }
    expected.forEach((e, i) => {
      const diff = Math.abs(got[i]! - e);
      if (!closeEnough(got[i]!, e, tol))
        problems.push(`${what}[${i}]: got ${got[i]}, expected ${e} (diff ${diff.toExponential(2)})`);
    });
  };
  compare("loss", [out.loss.item()], [c.expected.loss]);
  compare("per_example_loss", out.perExample.toArray(), c.expected.per_example_loss);
  // Metrics are float64 from the float64 inputs: the file's float64 row holds for every case.
  for (const [key, e] of Object.entries(c.expected.metrics)) {
    if (!(key in out.metrics)) problems.push(`metric ${key}: missing`);
    else if (!closeEnough(out.metrics[key]!, e, golden.tolerances.float64))
      problems.push(`metric ${key}: got ${out.metrics[key]}, expected ${e} (float64 tolerance)`);
  }
  for (const key of Object.keys(out.metrics)) {
    if (!(key in c.expected.metrics)) problems.push(`metric ${key}: reported but not expected`);
  }
  for (const [key, e] of Object.entries(c.expected.grad)) {
    const expected = asList(e);
    const input = inputs[key as InputName];
    if (input === undefined) {
      problems.push(`grad ${key}: no such input`);
      continue;
    }
    // No gradient at all means the loss does not depend on the input (KTO's detached z0).
    compare(`grad ${key}`, input.grad?.toArray() ?? expected.map(() => 0), expected);
  }
  return problems;
}

describe(`golden losses (${goldenPath})`, () => {
  it.each(golden.cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    expect(LOSS_NAMES, `loss "${c.loss}" has no entry in the loss table`).toContain(c.loss);
    expect(checkCase(c)).toEqual([]);
  });

  it("covers every table entry, or the entry has a hand-computed test here", () => {
    const inFile = new Set(golden.cases.map((c) => c.loss));
    const elsewhere = [...HAND_TESTED, ...LISTWISE_GOLDEN];
    expect(LOSS_NAMES.filter((name) => !inFile.has(name) && !elsewhere.includes(name))).toEqual([]);
  });
});

describe("sft (hand-computed)", () => {
  it("is the token-mean NLL of the chosen completions", () => {
    // ℓc = [−4, −9] over [2, 3] tokens: per example 2 and 3; batch −(−13)/5 = 2.6; ∂/∂ℓc = −1/5.
    const chosen = tensor([-4, -9], [2], true);
    const out = runLoss("sft", { policy_chosen_logps: chosen, chosen_lengths: tensor([2, 3]) });
    out.loss.backward();
    expect(out.loss.item()).toBeCloseTo(2.6, 6);
    expect(out.perExample.toArray()).toEqual([2, 3]);
    expect(chosen.grad!.toArray().map((g) => +g.toFixed(6))).toEqual([-0.2, -0.2]);
    expect(out.metrics.nll_loss).toBeCloseTo(2.6, 6);
    expect(out.metrics["logps/chosen"]).toBeCloseTo(-6.5, 6);
  });
});

describe("LD-DPO log-probs (hand-computed)", () => {
  // Row 0: chosen has 3 completion tokens, rejected 2, so the shared length is 2 and chosen's third
  // token counts with weight α. Row 1: a prompt position (mask 0) first, both sides 2 tokens long.
  const chosenTokens = [
    [-1, -2, -3, 0],
    [-7, -0.5, -0.25, 0],
  ];
  const chosenMask = [
    [1, 1, 1, 0],
    [0, 1, 1, 0],
  ];
  const rejectedTokens = [
    [-0.5, -1.5, 0],
    [-9, -4, -6],
  ];
  const rejectedMask = [
    [1, 1, 0],
    [0, 1, 1],
  ];
  const run = (alpha: number, track = false) => {
    const chosen = tensor(chosenTokens.flat(), [2, 4], track);
    const out = ldLogps(
      { tokenLogps: chosen, mask: chosenMask },
      { tokenLogps: tensor(rejectedTokens.flat(), [2, 3]), mask: rejectedMask },
      alpha,
    );
    return { chosen, out };
  };

  it("weights the tokens past the shared length by ld_alpha", () => {
    const { chosen, out } = run(0.5, true);
    expect(out.chosen.toArray()).toEqual([-1 - 2 + 0.5 * -3, -0.5 - 0.25]);
    expect(out.rejected.toArray()).toEqual([-2, -10]);
    out.chosen.sum().backward();
    expect(chosen.grad!.toArray()).toEqual([1, 1, 0.5, 0, 0, 1, 1, 0]);
  });

  it("is the plain masked sum at ld_alpha = 1 and the shared prefix at 0", () => {
    expect(run(1).out.chosen.toArray()).toEqual([-6, -0.75]);
    expect(run(0).out.chosen.toArray()).toEqual([-3, -0.75]);
  });

  it("feeds any paired loss: DPO on LD log-probs", () => {
    const policy = run(0.5).out;
    const reference = { chosen: tensor([-3.5, -1]), rejected: tensor([-2.5, -9]) };
    const out = runLoss(
      "dpo_sigmoid",
      {
        policy_chosen_logps: policy.chosen,
        policy_rejected_logps: policy.rejected,
        reference_chosen_logps: reference.chosen,
        reference_rejected_logps: reference.rejected,
        chosen_lengths: tensor([3, 2]),
        rejected_lengths: tensor([2, 2]),
      },
      { beta: 0.5 },
    );
    // δ = (−4.5 + 3.5) − (−2 + 2.5) = −1.5 and (−0.75 + 1) − (−10 + 9) = 1.25.
    const expected = [-1.5, 1.25].map((d) => Math.log1p(Math.exp(-0.5 * d)));
    out.perExample.toArray().forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  });

  it("rejects ld_alpha outside [0, 1]", () => {
    expect(() => run(1.5)).toThrow(/ld_alpha/);
  });
});

describe("numerics", () => {
  it("log σ is finite at ±1000 and its gradient σ(−x) keeps relative precision", () => {
    const xs = [-1000, -30, -1, 0, 1, 30, 1000];
    const x = tensor(xs, [xs.length], true);
    const y = logSigmoid(x);
    y.sum().backward();
    const exact = xs.map((v) => (v < 0 ? v - Math.log1p(Math.exp(v)) : -Math.log1p(Math.exp(-v))));
    const slope = xs.map((v) => 1 / (1 + Math.exp(v)));
    y.toArray().forEach((v, i) => expect(closeEnough(v, exact[i]!, { rtol: 1e-6, atol: 1e-7 })).toBe(true));
    x.grad!.toArray().forEach((g, i) => expect(closeEnough(g, slope[i]!, { rtol: 1e-5, atol: 0 })).toBe(true));
  });

  it("log(1 − eˣ) is accurate as x → 0⁻ and finite at 0", () => {
    const xs = [-1e-9, -3e-7, -0.05, -0.1, -0.5, -5, -700, 0];
    const x = tensor(xs, [xs.length], true);
    const y = log1mExp(x);
    y.sum().backward();
    const f32 = Float32Array.from(xs);
    xs.slice(0, -1).forEach((_, i) => {
      const v = f32[i]!;
      expect(closeEnough(y.data[i]!, Math.log(-Math.expm1(v)), { rtol: 1e-6, atol: 1e-7 })).toBe(true);
      // d/dx log(1 − eˣ) = −1/(e^−x − 1)
      expect(closeEnough(x.grad!.data[i]!, -1 / Math.expm1(-v), { rtol: 1e-5, atol: 1e-7 })).toBe(true);
    });
    expect(Number.isFinite(y.data[xs.length - 1]!)).toBe(true);
  });
});

describe("KTO KL rows", () => {
  it("pairs each prompt with the previous row's completion", () => {
    const rows = [
      { prompt: [1, 2], completion: [10] },
      { prompt: [3], completion: [20, 21] },
      { prompt: [4, 5, 6], completion: [30] },
    ];
    expect(ktoKlRows(rows)).toEqual([
      { prompt: [1, 2], completion: [30] },
      { prompt: [3], completion: [10] },
      { prompt: [4, 5, 6], completion: [20, 21] },
    ]);
  });

  it("never pairs a prompt with its own completion, and refuses a batch of one", () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ prompt: [i], completion: [100 + i] }));
    ktoKlRows(rows).forEach((row, i) => expect(row.completion).not.toEqual(rows[i]!.completion));
    expect(() => ktoKlRows(rows.slice(0, 1))).toThrow(/at least 2/);
  });
});
