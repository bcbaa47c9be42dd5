/**
 * Listwise losses: one chosen answer against the K rejected answers of its prompt (the rows of
 * dpo_multi.jsonl that `seapo inject --strategy all` writes, one typed negative per error type).
 *
 * Inputs: the chosen side as in the paired losses ([B] policy/reference summed log-probs), the
 * rejected side as [B, K] matrices, and an optional [B, K] 0/1 mask for rows with fewer than K
 * negatives (a rejected rewrite leaves a gap). Masked entries are never read.
 *
 * Notation: z_c = β·(ℓc − ℓc_ref), z_k = β·(ℓk − ℓk_ref), over the row's valid negatives k.
 *  - multi_dpo: the mean over k of DPO terms, (1/K)·Σ_k −log σ(z_c − z_k).
 *  - listwise_pl: the first factor of a Plackett–Luce ranking with the chosen first (the
 *    softmax listwise loss of LiPO, arXiv 2402.01878 §3, with binary labels):
 *    −log [e^{z_c} / (e^{z_c} + Σ_k e^{z_k})]. The negatives have no order among themselves (each
 *    is wrong in its own way), so the later PL factors, which would rank them, are left out.
 *  Both equal DPO's −log σ(z_c − z_1) when a row has one negative.
 *
 * Precision: the engine holds float32 only, and at |β·Δ| in the hundreds the float32 softmax loses
 * digits, so each row's value and its analytic gradient are computed in float64 from the inputs'
 * values and carried into the engine as L_b + Σ g·(x − x̄) with x̄ = x detached. That tensor has
 * the value L_b and the gradient g, rounded to float32 (the gradient once more by the batch mean's
 * backward), and works with any later op (weights, sums). `listwiseTerms` exposes the float64
 * numbers themselves. Second derivatives through it are zero (nothing here needs them).
 */
import { ops, Tensor } from "../../engine/index.js";
import { SeapoError } from "../../errors.js";
import { preferenceMetrics } from "../metrics.js";
import { defineLoss, values, type Inputs, type LossInputs, type LossOutput, type LossSpec } from "./common.js";

/** The inputs of a listwise loss; the mask is optional (absent: every negative present). */
export const LISTWISE = [
  "policy_chosen_logps",
  "reference_chosen_logps",
  "policy_rejected_list_logps",
  "reference_rejected_list_logps",
] as const;
type ListInputs = Inputs<(typeof LISTWISE)[number]>;

export type ListwiseKind = "multi_dpo" | "listwise_pl";

/** Float64 values of one batch: chosen [B], rejected [B][K] with a mask, as plain numbers. */
export interface ListwiseValues {
  policyChosen: ArrayLike<number>;
  referenceChosen: ArrayLike<number>;
  policyRejected: ArrayLike<number>[];
  referenceRejected: ArrayLike<number>[];
  /** [B][K] 0/1; absent: all 1. */
  mask?: ArrayLike<number>[];
}

/** Everything a listwise loss computes, in float64. Gradients are of the batch loss (the mean over rows). */
export interface ListwiseTerms {
  loss: number;
  perRow: number[];
  grad: {
    policyChosen: number[];
    referenceChosen: number[];
    /** [B][K], 0 at masked entries. */
    policyRejected: number[][];
    referenceRejected: number[][];
  };
  metrics: Record<string, number>;
}

/** ∂(row loss)/∂z for one row: the chosen's and each valid negative's (0 where masked). */
interface RowTerm {
  value: number;
  dChosen: number;
  dRejected: number[];
}

/** −log σ(u), overflow-free. */
function softplusNeg(u: number): number {
  return u >= 0 ? Math.log1p(Math.exp(-u)) : -u + Math.log1p(Math.exp(u));
}

/** σ(−u), with full relative precision in both tails. */
function sigmoidNeg(u: number): number {
  if (u >= 0) {
    const e = Math.exp(-u);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(u));
}

const rowTerms: Record<ListwiseKind, (zc: number, zs: readonly number[], valid: readonly boolean[]) => RowTerm> = {
  multi_dpo: (zc, zs, valid) => {
    const count = valid.filter(Boolean).length;
    let value = 0;
    let dChosen = 0;
    const dRejected = zs.map((z, k) => {
      if (!valid[k]) return 0;
      value += softplusNeg(zc - z) / count;
      const slope = sigmoidNeg(zc - z) / count;
      dChosen -= slope;
      return slope;
    });
    return { value, dChosen, dRejected };
  },
  listwise_pl: (zc, zs, valid) => {
    const top = zs.reduce((m, z, k) => (valid[k] ? Math.max(m, z) : m), zc);
    const weights = zs.map((z, k) => (valid[k] ? Math.exp(z - top) : 0));
    const total = Math.exp(zc - top) + weights.reduce((s, w) => s + w, 0);
    const logTotal = top + Math.log(total);
    // 1 − p_c as Σ p_k: no cancellation when the chosen holds nearly all the mass.
    const dRejected = weights.map((w) => w / total);
    return { value: logTotal - zc, dChosen: -dRejected.reduce((s, p) => s + p, 0), dRejected };
  },
};

/** The loss, per-row terms, gradients and metrics of one listwise loss, in float64. */
export function listwiseTerms(kind: ListwiseKind, v: ListwiseValues, beta: number): ListwiseTerms {
  const rows = v.policyChosen.length;
  const perRow: number[] = [];
  const grad: ListwiseTerms["grad"] = {
    policyChosen: [],
    referenceChosen: [],
    policyRejected: [],
    referenceRejected: [],
  };
  const rewards = { chosen: [] as number[], rejected: [] as number[][], rejectedLogps: [] as number[][] };
  for (let b = 0; b < rows; b++) {
    const zc = beta * (v.policyChosen[b]! - v.referenceChosen[b]!);
    const width = v.policyRejected[b]!.length;
    const valid = Array.from({ length: width }, (_, k) => (v.mask ? v.mask[b]![k] !== 0 : true));
    const zs = Array.from({ length: width }, (_, k) =>
      valid[k] ? beta * (v.policyRejected[b]![k]! - v.referenceRejected[b]![k]!) : 0,
    );
    if (!valid.includes(true)) throw new RangeError(`listwiseTerms: row ${b} has no rejected answer`);
    const term = rowTerms[kind](zc, zs, valid);
    perRow.push(term.value);
    grad.policyChosen.push((beta * term.dChosen) / rows);
    grad.referenceChosen.push((-beta * term.dChosen) / rows);
    grad.policyRejected.push(term.dRejected.map((d) => (beta * d) / rows));
    grad.referenceRejected.push(term.dRejected.map((d) => (-beta * d) / rows));

    rewards.chosen.push(zc);
    rewards.rejected.push(zs.filter((_, k) => valid[k]));
    rewards.rejectedLogps.push(Array.from(v.policyRejected[b]!).filter((_, k) => valid[k]));
  }
  const metrics = preferenceMetrics({
    kind: "listwise",
    chosenRewards: rewards.chosen,
    rejectedRewards: rewards.rejected,
    chosenLogps: v.policyChosen,
    rejectedLogps: rewards.rejectedLogps,
  });
  return { loss: mean(perRow), perRow, grad, metrics };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The rows of a [B, K] tensor's values. */
function matrixRows(t: Tensor): Float64Array[] {
  const [rows, width] = t.shape as [number, number];
  const flat = values(t);
  return Array.from({ length: rows }, (_, b) => flat.subarray(b * width, (b + 1) * width));
}

/** Shapes agree ([B] chosen, [B, K] rejected and mask), the mask is 0/1 and leaves each row a negative. */
function checkListInputs(name: string, x: ListInputs): void {
  const chosen = x.policy_chosen_logps.shape;
  const matrix = x.policy_rejected_list_logps.shape;
  const fail = (what: string) => {
    throw new SeapoError(`loss ${name}: ${what}`);
  };
  if (matrix.length !== 2 || matrix[0] !== chosen[0] || matrix[1]! < 1)
    fail(`policy_rejected_list_logps must be [B, K] with B = ${chosen[0]} rows, got [${matrix.join(", ")}]`);
  for (const input of ["reference_rejected_list_logps", "rejected_list_mask"] as const) {
    const t = x[input];
    if (t !== undefined && t.shape.join() !== matrix.join())
      fail(`${input} has shape [${t.shape.join(", ")}] but policy_rejected_list_logps has [${matrix.join(", ")}]`);
  }
  const mask = x.rejected_list_mask;
  if (mask === undefined) return;
  matrixRows(mask).forEach((row, b) => {
    if (row.some((m) => m !== 0 && m !== 1)) fail(`rejected_list_mask row ${b} holds a value other than 0 and 1`);
    if (!row.includes(1)) fail(`row ${b} has no rejected answer (its rejected_list_mask is all 0)`);
  });
}

/** L_b + Σ g·(x − x̄) for each input that needs a gradient: value L_b, gradient g (see the header). */
function carryGradient(perRow: readonly number[], linear: Array<[Tensor, Float32Array]>): Tensor {
  let out = new Tensor(Float32Array.from(perRow), [perRow.length]);
  for (const [x, g] of linear) {
    if (!x.requiresGrad) continue;
    let term = ops.mul(ops.sub(x, x.detach()), new Tensor(g, x.shape));
    if (x.ndim === 2) term = ops.sum(term, 1);
    out = ops.add(out, term);
  }
  return out;
}

function listwiseLoss(kind: ListwiseKind, x: ListInputs, beta: number): LossOutput {
  checkListInputs(kind, x);
  const terms = listwiseTerms(
    kind,
    {
      policyChosen: values(x.policy_chosen_logps),
      referenceChosen: values(x.reference_chosen_logps),
      policyRejected: matrixRows(x.policy_rejected_list_logps),
      referenceRejected: matrixRows(x.reference_rejected_list_logps),
      mask: x.rejected_list_mask && matrixRows(x.rejected_list_mask),
    },
    beta,
  );
  // The per-row tensor's gradient is the row loss's own, B times the batch mean's.
  const rows = terms.perRow.length;
  const perRowGrad = (g: number[] | number[][]) => Float32Array.from(g.flat(), (v) => v * rows);
  const perExample = carryGradient(terms.perRow, [
    [x.policy_chosen_logps, perRowGrad(terms.grad.policyChosen)],
    [x.reference_chosen_logps, perRowGrad(terms.grad.referenceChosen)],
    [x.policy_rejected_list_logps, perRowGrad(terms.grad.policyRejected)],
    [x.reference_rejected_list_logps, perRowGrad(terms.grad.referenceRejected)],
  ]);
  return { perExample, loss: ops.mean(perExample), metrics: terms.metrics };
}

export const listwiseLosses = {
  // One chosen against K rejected: the mean over k of DPO's −log σ(z_c − z_k) (DPO, arXiv 2305.18290, Eq. 7, per pair).
  multi_dpo: defineLoss({
    cite: "DPO, arXiv 2305.18290, Eq. 7, averaged over a prompt's K negatives",
    inputs: LISTWISE,
    optional: ["rejected_list_mask"],
    params: { beta: 0.1 },
    compute: (x, { beta }) => listwiseLoss("multi_dpo", x, beta),
  }),

  // Plackett–Luce with the chosen ranked first (LiPO's softmax listwise loss, arXiv 2402.01878): −log softmax(z)_chosen.
  listwise_pl: defineLoss({
    cite: "Plackett–Luce / LiPO softmax, arXiv 2402.01878 §3, chosen first",
    inputs: LISTWISE,
    optional: ["rejected_list_mask"],
    params: { beta: 0.1 },
    compute: (x, { beta }) => listwiseLoss("listwise_pl", x, beta),
  }),
} satisfies Record<string, LossSpec>;

// ---------------------------------------------------------------------------------------------
// batching

/**
 * Where each row's rejected log-probs sit in a flat vector of per-sequence sums, and the mask of
 * the padded [B, K] matrix (K = the most negatives of any row in the batch).
 */
export interface ListwiseLayout {
  rows: number;
  width: number;
  /** [B·K] indices into the flat vector (padding points at `start`, and is masked). */
  ids: Int32Array;
  /** [B, K] 0/1. */
  mask: Tensor;
}

/**
 * The layout for a batch whose rows have `counts[b]` negatives each, laid out in the flat vector
 * from `start` row after row (row 0's negatives, then row 1's, …).
 */
export function listwiseLayout(counts: readonly number[], start = 0): ListwiseLayout {
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1))
    throw new SeapoError(`listwiseLayout: every row needs at least one rejected answer, got [${counts.join(", ")}]`);
  const width = Math.max(...counts);
  const ids = new Int32Array(counts.length * width).fill(start);
  const mask = new Float32Array(counts.length * width);
  let next = start;
  counts.forEach((count, b) => {
    for (let k = 0; k < count; k++) {
      ids[b * width + k] = next++;
      mask[b * width + k] = 1;
    }
  });
  return { rows: counts.length, width, ids, mask: new Tensor(mask, [counts.length, width]) };
}

/** The [B, K] rejected matrix taken from a flat [N] vector of per-sequence log-prob sums (differentiable). */
export function rejectedMatrix(flat: Tensor, layout: ListwiseLayout): Tensor {
  if (flat.ndim !== 1) throw new SeapoError(`rejectedMatrix: expected a [N] vector, got [${flat.shape.join(", ")}]`);
  const picked = ops.gather(flat.reshape([flat.size, 1]), layout.ids, [layout.rows, layout.width]);
  return picked.reshape([layout.rows, layout.width]);
}

/**
 * A micro-batch's listwise inputs from one flat scoring pass: sequence j of `policy` (and of
 * `reference`, the same sequences under the reference model) is the chosen completion of row j for
 * j < B, then row 0's negatives, row 1's, … (`counts[b]` each). The chosen and rejected policy
 * inputs stay connected to `policy`, so the gradient reaches the model.
 */
export function listwiseBatchInputs(
  policy: Tensor,
  reference: ArrayLike<number> | undefined,
  counts: readonly number[],
): LossInputs {
  const rows = counts.length;
  const total = rows + counts.reduce((n, k) => n + k, 0);
  if (policy.ndim !== 1 || policy.size !== total || (reference !== undefined && reference.length !== total))
    throw new SeapoError(
      `listwiseBatchInputs: ${rows} rows with ${total - rows} negatives need ${total} scored sequences, got ${policy.size}` +
        (reference === undefined ? "" : ` (reference ${reference.length})`),
    );
  const layout = listwiseLayout(counts, rows);
  const inputs: LossInputs = {
    policy_chosen_logps: ops.slice(policy, 0, 0, rows),
    policy_rejected_list_logps: rejectedMatrix(policy, layout),
    rejected_list_mask: layout.mask,
  };
  if (reference === undefined) return inputs;
  const constant = new Tensor(Float32Array.from(reference), [total]);
  return {
    ...inputs,
    reference_chosen_logps: ops.slice(constant, 0, 0, rows),
    reference_rejected_list_logps: rejectedMatrix(constant, layout),
  };
}
