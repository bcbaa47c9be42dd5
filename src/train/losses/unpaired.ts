/**
 * Unpaired losses (TRL KTOTrainer): each item is one completion labelled desirable (1) or
 * undesirable (0). Δ = ℓ − ℓ_ref on summed log-probs. Per-item losses are in input order and
 * include the class weight; the batch loss is their mean over all items.
 *
 * Also the KTO batch helper that builds the mismatched prompt/completion rows for the KL term.
 */
import { ops, Tensor } from "../../engine/index.js";
import { SeapoError } from "../../errors.js";
import { preferenceMetrics } from "../metrics.js";
import { defineLoss, difference, lossOutput, values, type Inputs, type LossOutput, type LossSpec } from "./common.js";

/** The inputs every unpaired loss needs. */
export const UNPAIRED = ["policy_logps", "reference_logps", "labels"] as const;
type Items = Inputs<(typeof UNPAIRED)[number]>;

interface ClassWeights {
  desirable_weight: number;
  undesirable_weight: number;
}

/**
 * Desirable items pay w_d·(1 − σ(β(Δ − z0))) = w_d·σ(−β(Δ − z0)); undesirable ones pay
 * w_u·(1 − σ(β(z0 − Δ))) = w_u·σ(β(Δ − z0)). Writing 1 − σ(u) as σ(−u) keeps |u| = 1000 exact.
 * z0 is a plain number, so no gradient reaches whatever it was computed from.
 */
function klAnchored(x: Items, beta: number, z0: number, w: ClassWeights): LossOutput {
  const labels = x.labels.data;
  const sign = new Float32Array(labels.length);
  const weight = new Float32Array(labels.length);
  labels.forEach((label, i) => {
    if (label !== 0 && label !== 1)
      throw new SeapoError(`labels[${i}] is ${label}; expected 1 (desirable) or 0 (undesirable)`);
    sign[i] = label === 1 ? -1 : 1;
    weight[i] = label === 1 ? w.desirable_weight : w.undesirable_weight;
  });
  const delta = ops.sub(x.policy_logps, x.reference_logps);
  const z = ops.mul(ops.sub(delta, z0), beta);
  const perExample = ops.mul(ops.sigmoid(ops.mul(z, new Tensor(sign, z.shape))), new Tensor(weight, z.shape));

  const rewards = difference(x.policy_logps, x.reference_logps).map((v) => beta * v);
  const metrics = preferenceMetrics({ kind: "unpaired", rewards, logps: values(x.policy_logps), labels, kl: z0 });
  return lossOutput(perExample, metrics);
}

/** z0 = max(0, mean(ℓ_KL − ℓ_KL,ref)), in float64 from the values: a constant of the step. */
function klReferencePoint(x: Inputs<"kl_policy_logps" | "kl_reference_logps">): number {
  const [policy, reference] = [values(x.kl_policy_logps), values(x.kl_reference_logps)];
  if (policy.length !== reference.length || policy.length === 0) {
    const got = `${policy.length} and ${reference.length}`;
    throw new SeapoError(`loss kto: kl_policy_logps and kl_reference_logps need the same non-zero length, got ${got}`);
  }
  let total = 0;
  policy.forEach((v, i) => (total += v - reference[i]!));
  return Math.max(0, total / policy.length);
}

export const unpairedLosses = {
  // KTO, Ethayarajh et al. 2024 (arXiv 2402.01306), Eq. 8, with TRL's batch estimate of the reference point z0.
  kto: defineLoss({
    cite: "KTO, arXiv 2402.01306, Eq. 8",
    inputs: [...UNPAIRED, "kl_policy_logps", "kl_reference_logps"],
    params: { beta: 0.1, desirable_weight: 1.0, undesirable_weight: 1.0 },
    compute: (x, p) => klAnchored(x, p.beta, klReferencePoint(x), p),
  }),

  // APO-zero for unpaired data, D'Oosterlinck et al. 2024 (arXiv 2408.06266): KTO's form with z0 = 0.
  apo_zero_unpaired: defineLoss({
    cite: "APO-zero (unpaired), arXiv 2408.06266",
    inputs: UNPAIRED,
    params: { beta: 0.1, desirable_weight: 1.0, undesirable_weight: 1.0 },
    compute: (x, p) => klAnchored(x, p.beta, 0, p),
  }),
} satisfies Record<string, LossSpec>;

// ---------------------------------------------------------------------------------------------
// KL rows

export interface PromptCompletion {
  prompt: readonly number[];
  completion: readonly number[];
}

/**
 * The partner of each row for the mismatched rows whose policy-minus-reference log-ratio estimates
 * KTO's z0. TRL shifts completions by one within the batch (row i takes row i−1's, row 0 the
 * last); here row i takes the completion of the nearest earlier row, cyclically (i−1, i−2, …),
 * whose prompt differs from its own, so a prompt never meets one of its own completions (a
 * kto.jsonl holds a prompt's desirable and undesirable rows side by side). `undefined` where every
 * row of the batch shares the prompt. Needs at least two rows.
 */
export function klPartners(rows: readonly PromptCompletion[]): (number | undefined)[] {
  if (rows.length < 2)
    throw new SeapoError(`ktoKlRows: the KL term needs a batch of at least 2 items, got ${rows.length}`);
  const prompts = rows.map((row) => row.prompt.join(","));
  return rows.map((_, i) => {
    for (let back = 1; back < rows.length; back++) {
      const j = (i + rows.length - back) % rows.length;
      if (prompts[j] !== prompts[i]) return j;
    }
    return undefined;
  });
}

/** The KL rows of a batch (see klPartners); a batch of one prompt only is an error. */
export function ktoKlRows(rows: readonly PromptCompletion[]): PromptCompletion[] {
  return klPartners(rows).map((partner, i) => {
    if (partner === undefined)
      throw new SeapoError("ktoKlRows: every row of the batch has the same prompt, so none can serve as a KL partner");
    return { prompt: rows[i]!.prompt, completion: rows[partner]!.completion };
  });
}
