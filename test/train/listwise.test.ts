/**
 * The listwise losses (multi_dpo, listwise_pl) against test/train/fixtures/listwise-golden.json,
 * made by test/train/generators/listwise_golden.py (torch 1.13 float64 autograd, numpy metrics):
 *  - the float64 core (`listwiseTerms`): loss, per-row terms, every gradient and metric at 1e-10;
 *  - the engine entry (what training runs): the same numbers after one rounding to float32 (the
 *    engine's only dtype), gradients through the engine's backward; metrics still at 1e-10.
 * Plus: one negative is DPO, masks and shapes are checked, and the batching helpers.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Tensor, tensor } from "../../src/engine/index.js";
import {
  listwiseBatchInputs,
  listwiseLayout,
  listwiseLosses,
  listwiseTerms,
  rejectedMatrix,
  type ListwiseKind,
} from "../../src/train/losses/listwise.js";
import { combineLosses, lossRequirements, LOSSES, runLoss } from "../../src/train/losses/index.js";

const vector = z.array(z.number());
const matrix = z.array(vector);
const goldenCase = z.object({
  id: z.string(),
  loss: z.enum(["multi_dpo", "listwise_pl"]),
  tags: z.array(z.string()),
  params: z.object({ beta: z.number() }),
  inputs: z.object({
    policy_chosen_logps: vector,
    reference_chosen_logps: vector,
    policy_rejected_list_logps: matrix,
    reference_rejected_list_logps: matrix,
    rejected_list_mask: matrix.optional(),
  }),
  expected: z.object({
    loss: z.number(),
    per_example_loss: vector,
    metrics: z.record(z.string(), z.number()),
    grad: z.object({
      policy_chosen_logps: vector,
      reference_chosen_logps: vector,
      policy_rejected_list_logps: matrix,
      reference_rejected_list_logps: matrix,
    }),
  }),
});
type GoldenCase = z.infer<typeof goldenCase>;
const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "listwise-golden.json");
const golden = z.object({ cases: z.array(goldenCase).min(1) }).parse(JSON.parse(readFileSync(fixture, "utf8")));

const FLOAT64 = { rtol: 1e-10, atol: 1e-12 };
/** One float32 rounding of the value (2⁻²⁴ relative) and of the gradient's two factors; atol for float32 underflow. */
const FLOAT32 = { rtol: 3e-7, atol: 1e-37 };

function expectClose(got: ArrayLike<number>, want: readonly number[], tol: typeof FLOAT64, what: string): void {
  expect(got.length, what).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    if (Math.abs(g - w) > tol.atol + tol.rtol * Math.abs(w)) throw new Error(`${what}[${i}]: got ${g}, want ${w}`);
  });
}

function expectMetrics(got: Record<string, number>, want: Record<string, number>, id: string): void {
  expect(Object.keys(got).sort(), id).toEqual(Object.keys(want).sort());
  for (const [key, value] of Object.entries(want)) expectClose([got[key]!], [value], FLOAT64, `${id} ${key}`);
}

describe.each(golden.cases.map((c) => [c.id, c] as const))("listwise golden %s", (_id, c: GoldenCase) => {
  const x = c.inputs;
  const want = c.expected;

  it("float64 core: loss, per-row terms, gradients and metrics at 1e-10", () => {
    const terms = listwiseTerms(
      c.loss,
      {
        policyChosen: x.policy_chosen_logps,
        referenceChosen: x.reference_chosen_logps,
        policyRejected: x.policy_rejected_list_logps,
        referenceRejected: x.reference_rejected_list_logps,
        mask: x.rejected_list_mask,
      },
      c.params.beta,
    );
    expectClose([terms.loss], [want.loss], FLOAT64, `${c.id} loss`);
    expectClose(terms.perRow, want.per_example_loss, FLOAT64, `${c.id} per row`);
    expectClose(terms.grad.policyChosen, want.grad.policy_chosen_logps, FLOAT64, `${c.id} d/dpc`);
    expectClose(terms.grad.referenceChosen, want.grad.reference_chosen_logps, FLOAT64, `${c.id} d/drc`);
    expectClose(terms.grad.policyRejected.flat(), want.grad.policy_rejected_list_logps.flat(), FLOAT64, `d/dpr`);
    expectClose(terms.grad.referenceRejected.flat(), want.grad.reference_rejected_list_logps.flat(), FLOAT64, `d/drr`);
    expectMetrics(terms.metrics, want.metrics, c.id);
  });

  it("engine entry (runLoss): the same values rounded to float32, gradients through backward", () => {
    const rows = x.policy_chosen_logps.length;
    const width = x.policy_rejected_list_logps[0]!.length;
    const leaf = (v: number[] | number[][]) =>
      tensor(v.flat(), Array.isArray(v[0]) ? [rows, width] : [rows], /* requiresGrad */ true);
    const inputs = {
      policy_chosen_logps: leaf(x.policy_chosen_logps),
      reference_chosen_logps: leaf(x.reference_chosen_logps),
      policy_rejected_list_logps: leaf(x.policy_rejected_list_logps),
      reference_rejected_list_logps: leaf(x.reference_rejected_list_logps),
      ...(x.rejected_list_mask && { rejected_list_mask: tensor(x.rejected_list_mask.flat(), [rows, width]) }),
    };
    const out = runLoss(c.loss, inputs, c.params); // through the table, as training calls it
    out.loss.backward();
    expectClose([out.loss.item()], [want.loss], FLOAT32, `${c.id} loss`);
    expectClose(out.perExample.data, want.per_example_loss, FLOAT32, `${c.id} per row`);
    for (const [name, grad] of Object.entries(want.grad)) {
      expectClose(inputs[name as keyof typeof want.grad].grad!.data, grad.flat(), FLOAT32, `${c.id} d/d${name}`);
    }
    expectMetrics(out.metrics, want.metrics, c.id);
  });
});

describe("listwise losses", () => {
  it("the golden file covers both losses, masks, ties and extreme magnitudes", () => {
    const tags = new Set(golden.cases.flatMap((c) => c.tags.map((t) => `${c.loss}/${t}`)));
    for (const loss of ["multi_dpo", "listwise_pl"])
      for (const tag of ["random", "mask", "ties", "extreme"]) expect(tags).toContain(`${loss}/${tag}`);
  });

  it.each(["multi_dpo", "listwise_pl"] as const)("%s with one negative per row is DPO (dpo_sigmoid)", (kind) => {
    const [pc, rc, pr, rr] = [
      [-12.5, -40.25, -7],
      [-13, -39, -7.5],
      [-20, -38.5, -6],
      [-18.75, -40, -9],
    ];
    const list = listwiseLosses[kind].compute(
      {
        policy_chosen_logps: tensor(pc),
        reference_chosen_logps: tensor(rc),
        policy_rejected_list_logps: tensor(pr, [3, 1]),
        reference_rejected_list_logps: tensor(rr, [3, 1]),
      },
      { beta: 0.3 },
    );
    const lengths = tensor([5, 5, 5]);
    const dpo = LOSSES.dpo_sigmoid.compute(
      {
        policy_chosen_logps: tensor(pc),
        reference_chosen_logps: tensor(rc),
        policy_rejected_logps: tensor(pr),
        reference_rejected_logps: tensor(rr),
        chosen_lengths: lengths,
        rejected_lengths: lengths,
      },
      { beta: 0.3 },
    );
    expectClose(list.perExample.data, Array.from(dpo.perExample.data), { rtol: 1e-6, atol: 1e-7 }, kind);
    for (const [key, value] of Object.entries(dpo.metrics)) expect(list.metrics[key], key).toBeCloseTo(value, 5);
  });

  it("float64 gradients agree with central differences of the float64 loss", () => {
    const v = {
      policyChosen: [-3.1, -7.4],
      referenceChosen: [-3.5, -6.9],
      policyRejected: [
        [-4.2, -2.9, -8],
        [-6.1, -7.7, -5.5],
      ],
      referenceRejected: [
        [-4, -3.3, -7.2],
        [-6.6, -7.1, -5.2],
      ],
      mask: [
        [1, 1, 1],
        [1, 0, 1],
      ],
    };
    for (const kind of ["multi_dpo", "listwise_pl"] as ListwiseKind[]) {
      const { grad } = listwiseTerms(kind, v, 0.7);
      const h = 1e-6;
      const numeric = (bump: (d: number) => typeof v) =>
        (listwiseTerms(kind, bump(h), 0.7).loss - listwiseTerms(kind, bump(-h), 0.7).loss) / (2 * h);
      v.policyChosen.forEach((_, b) => {
        const bumped = (d: number) => ({ ...v, policyChosen: v.policyChosen.map((p, i) => (i === b ? p + d : p)) });
        expect(grad.policyChosen[b]).toBeCloseTo(numeric(bumped), 8);
      });
      v.policyRejected.forEach((row, b) =>
        row.forEach((_, k) => {
          const bumped = (d: number) => ({
            ...v,
            policyRejected: v.policyRejected.map((r, i) => (i === b ? r.map((p, j) => (j === k ? p + d : p)) : r)),
          });
          expect(grad.policyRejected[b]![k], `${kind} ${b},${k}`).toBeCloseTo(numeric(bumped), 8);
        }),
      );
      expect(grad.policyRejected[1]![1]).toBe(0);
    }
  });

  it("the float64 core refuses a row with every negative masked", () => {
    const v = {
      policyChosen: [-1],
      referenceChosen: [-1],
      policyRejected: [[-2]],
      referenceRejected: [[-2]],
      mask: [[0]],
    };
    expect(() => listwiseTerms("multi_dpo", v, 0.1)).toThrow(/row 0 has no rejected answer/);
  });

  it("refuses a row with no negative, a mask that is not 0/1 and mismatched shapes, naming the loss", () => {
    const base = {
      policy_chosen_logps: tensor([-1, -2]),
      reference_chosen_logps: tensor([-1, -2]),
      policy_rejected_list_logps: tensor([-3, -4, -5, -6], [2, 2]),
      reference_rejected_list_logps: tensor([-3, -4, -5, -6], [2, 2]),
    };
    const run = (over: Record<string, Tensor>) => () =>
      listwiseLosses.listwise_pl.compute({ ...base, ...over }, { beta: 1 });
    expect(run({ rejected_list_mask: tensor([1, 0, 0, 0], [2, 2]) })).toThrow(
      /loss listwise_pl: row 1 has no rejected answer/,
    );
    expect(run({ rejected_list_mask: tensor([1, 0.5, 1, 1], [2, 2]) })).toThrow(
      /row 0 holds a value other than 0 and 1/,
    );
    expect(run({ reference_rejected_list_logps: tensor([-3, -4], [2, 1]) })).toThrow(
      /reference_rejected_list_logps has shape \[2, 1\] but policy_rejected_list_logps has \[2, 2\]/,
    );
    expect(run({ policy_rejected_list_logps: tensor([-3, -4, -5], [3, 1]) })).toThrow(/must be \[B, K\] with B = 2/);
  });
});

describe("listwise batching helpers", () => {
  it("rejectedMatrix takes each row's negatives from a flat vector; gradients flow back, padding gets none", () => {
    // Flat order: 2 chosen, then row 0's three negatives, row 1's one, row 2's two.
    const flat = tensor([-1, -2, -10, -11, -12, -20, -30, -31], [8], true);
    const layout = listwiseLayout([3, 1, 2], 2);
    expect(layout.width).toBe(3);
    expect(Array.from(layout.mask.data)).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 0]);
    const m = rejectedMatrix(flat, layout);
    expect(m.shape).toEqual([3, 3]);
    const masked = Array.from(m.data).map((v, i) => (layout.mask.data[i] ? v : null));
    expect(masked).toEqual([-10, -11, -12, -20, null, null, -30, -31, null]);
    m.mul(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3]).mul(layout.mask))
      .sum()
      .backward();
    expect(Array.from(flat.grad!.data)).toEqual([0, 0, 1, 2, 3, 4, 7, 8]);
  });

  it("listwiseBatchInputs builds the loss inputs from one flat scoring pass, gradients back to it", () => {
    // Two rows: chosen c0, c1, then row 0's two negatives, then row 1's three.
    const policy = tensor([-4, -6, -5, -9, -7, -8, -6.5], [7], true);
    const reference = [-4.5, -6, -5.5, -8, -7, -7.5, -6];
    const inputs = listwiseBatchInputs(policy, reference, [2, 3]);
    const out = runLoss("listwise_pl", inputs, { beta: 0.5 });
    out.loss.backward();
    const want = listwiseTerms(
      "listwise_pl",
      {
        policyChosen: [-4, -6],
        referenceChosen: [-4.5, -6],
        policyRejected: [
          [-5, -9, 0],
          [-7, -8, -6.5],
        ],
        referenceRejected: [
          [-5.5, -8, 0],
          [-7, -7.5, -6],
        ],
        mask: [
          [1, 1, 0],
          [1, 1, 1],
        ],
      },
      0.5,
    );
    expect(out.loss.item()).toBeCloseTo(want.loss, 6);
    const flatGrad = [
      ...want.grad.policyChosen,
      ...want.grad.policyRejected[0]!.slice(0, 2),
      ...want.grad.policyRejected[1]!,
    ];
    expectClose(policy.grad!.data, flatGrad, FLOAT32, "d/dpolicy");
    expect(() => listwiseBatchInputs(policy, reference, [2, 2])).toThrow(
      /2 rows with 4 negatives need 6 scored sequences, got 7 \(reference 7\)/,
    );
  });

  it("listwiseLayout refuses a row without negatives", () => {
    expect(() => listwiseLayout([2, 0])).toThrow(/every row needs at least one rejected answer, got \[2, 0\]/);
  });
});

describe("listwise losses in the loss table", () => {
  const batch = () => ({
    policy_chosen_logps: tensor([-5, -6], [2], true),
    reference_chosen_logps: tensor([-5.5, -6]),
    policy_rejected_list_logps: tensor([-7, -8, -9, 0], [2, 2], true),
    reference_rejected_list_logps: tensor([-7.5, -8, -8, 0], [2, 2]),
    rejected_list_mask: tensor([1, 1, 1, 0], [2, 2]),
    chosen_lengths: tensor([4, 4]),
  });

  it.each(["multi_dpo", "listwise_pl"] as const)("%s runs by name on [B, K] inputs, alone or with sft", (name) => {
    const x = batch();
    const alone = runLoss(name, x, { beta: 0.5 });
    const terms = listwiseTerms(
      name,
      {
        policyChosen: [-5, -6],
        referenceChosen: [-5.5, -6],
        policyRejected: [
          [-7, -8],
          [-9, 0],
        ],
        referenceRejected: [
          [-7.5, -8],
          [-8, 0],
        ],
        mask: [
          [1, 1],
          [1, 0],
        ],
      },
      0.5,
    );
    expect(alone.loss.item()).toBeCloseTo(terms.loss, 6);
    expect(lossRequirements([{ name }])).toMatchObject({ kind: "listwise", reference: true, kl: false });
    expect(lossRequirements([{ name }, { name: "sft", weight: 0.1 }]).kind).toBe("listwise");
    const combined = combineLosses(
      [
        { name, params: { beta: 0.5 } },
        { name: "sft", weight: 0.1 },
      ],
      x,
    );
    expect(combined.loss.item()).toBeCloseTo(terms.loss + 0.1 * ((5 + 6) / 8), 6);
  });

  it("refuses to mix listwise losses with paired or unpaired ones", () => {
    expect(() => lossRequirements([{ name: "multi_dpo" }, { name: "dpo_sigmoid" }])).toThrow(
      /listwise losses \(multi_dpo, listwise_pl\) combine only with sft/,
    );
    expect(() => lossRequirements([{ name: "listwise_pl" }, { name: "kto" }])).toThrow(
      /unpaired losses \(kto, apo_zero_unpaired\) cannot be combined/,
    );
  });

  it("runLoss names a missing rejected matrix", () => {
    const { rejected_list_mask: _m, reference_rejected_list_logps: _r, ...rest } = batch();
    expect(() => runLoss("multi_dpo", rest)).toThrow(/loss multi_dpo: missing input reference_rejected_list_logps/);
  });
});
