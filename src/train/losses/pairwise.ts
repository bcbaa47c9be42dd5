/**
 * Reference-based paired losses: DPO and its TRL `loss_type` relatives, cDPO, F-DPO, and the
 * LD-DPO log-prob weighting.
 *
 * Notation (golden file): Δc = ℓc − ℓc_ref, Δr = ℓr − ℓr_ref, δ = Δc − Δr, all on summed log-probs.
 * Metrics use the raw Δ for every entry here (no length normalisation, no F-DPO shift).
 */
import { ops, Tensor } from "../../engine/index.js";
import { SeapoError } from "../../errors.js";
import { preferenceMetrics } from "../metrics.js";
import {
  atLeastOne,
  checkSmoothing,
  defineLoss,
  difference,
  logSigmoid,
  lossOutput,
  relu,
  smoothedSigmoidLoss,
  values,
} from "./common.js";
import type { Inputs, LossOutput, LossSpec } from "./common.js";

const { add, mul, neg, sub, sigmoid } = ops;

/** The six inputs every reference-based paired loss needs. */
export const REFERENCE_PAIR = [
  "policy_chosen_logps",
  "policy_rejected_logps",
  "reference_chosen_logps",
  "reference_rejected_logps",
  "chosen_lengths",
  "rejected_lengths",
] as const;
type Pair = Inputs<(typeof REFERENCE_PAIR)[number]>;

interface Ratios {
  /** Δc and Δr, [B]. */
  chosen: Tensor;
  rejected: Tensor;
  /** δ = Δc − Δr, [B]. */
  margin: Tensor;
}

function ratios(x: Pair): Ratios {
  const chosen = sub(x.policy_chosen_logps, x.reference_chosen_logps);
  const rejected = sub(x.policy_rejected_logps, x.reference_rejected_logps);
  return { chosen, rejected, margin: sub(chosen, rejected) };
}

/** Δ/max(|c|, 1) for each side: TRL's per-token normalisation of the log-ratios. */
function perTokenMargin(x: Pair, r: Ratios): Tensor {
  return sub(ops.div(r.chosen, atLeastOne(x.chosen_lengths)), ops.div(r.rejected, atLeastOne(x.rejected_lengths)));
}

/**
 * Runs one DPO-family formula and attaches TRL's reward metrics β·Δ, computed in float64 from the
 * inputs (a float32 Δ of two log-probs near −2000 is off by ~1e-4).
 */
function dpoFamily(x: Pair, beta: number, perExample: (r: Ratios) => Tensor): LossOutput {
  const r = ratios(x);
  const metrics = preferenceMetrics({
    kind: "paired",
    chosenRewards: difference(x.policy_chosen_logps, x.reference_chosen_logps).map((v) => beta * v),
    rejectedRewards: difference(x.policy_rejected_logps, x.reference_rejected_logps).map((v) => beta * v),
    chosenLogps: values(x.policy_chosen_logps),
    rejectedLogps: values(x.policy_rejected_logps),
  });
  return lossOutput(perExample(r), metrics);
}

/** (v − 1/(2β))², the squared-error target IPO and SPPO regress to. */
function squaredTo(v: Tensor, target: number): Tensor {
  const d = sub(v, target);
  return mul(d, d);
}

/**
 * A DPO-family loss for noisy labels: per example f(z, ε) of z = β·δ, where the flip probability
 * ε = label_smoothing (default 0) must lie in [0, upper).
 */
function labelSmoothedDpo(
  name: string,
  cite: string,
  upper: number,
  perExample: (z: Tensor, eps: number) => Tensor,
): LossSpec<(typeof REFERENCE_PAIR)[number], "beta" | "label_smoothing"> {
  return defineLoss({
    cite,
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1, label_smoothing: 0 },
    compute: (x, { beta, label_smoothing: eps }) => {
      checkSmoothing(name, eps, upper);
      return dpoFamily(x, beta, (r) => perExample(mul(r.margin, beta), eps));
    },
  });
}

export const pairwiseLosses = {
  // DPO, Rafailov et al. 2023 (arXiv 2305.18290), Eq. 7: −log σ(β·δ).
  dpo_sigmoid: defineLoss({
    cite: "DPO, arXiv 2305.18290, Eq. 7",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) => dpoFamily(x, beta, (r) => neg(logSigmoid(mul(r.margin, beta)))),
  }),

  // Conservative DPO, Mitchell 2023 ("A note on DPO with noisy preferences"): labels flipped with prob. ε.
  cdpo: labelSmoothedDpo("cdpo", "cDPO, Mitchell 2023, ericmitchell.ai/cdpo.pdf", 1, smoothedSigmoidLoss),

  // Robust DPO, Chowdhury et al. 2024 (arXiv 2403.00409), the unbiased rDPO loss: [−(1−ε)·log σ(z) + ε·log σ(−z)] / (1 − 2ε).
  robust: labelSmoothedDpo("robust", "rDPO, arXiv 2403.00409", 0.5, (z, eps) =>
    mul(sub(mul(logSigmoid(z), -(1 - eps)), mul(logSigmoid(neg(z)), -eps)), 1 / (1 - 2 * eps)),
  ),

  // SLiC calibration hinge, Zhao et al. 2023 (arXiv 2305.10425): max(0, 1 − β·δ).
  hinge: defineLoss({
    cite: "SLiC-HF, arXiv 2305.10425",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) => dpoFamily(x, beta, (r) => relu(sub(1, mul(r.margin, beta)))),
  }),

  // IPO, Azar et al. 2023 (arXiv 2310.12036), empirical IPO loss, on per-token log-ratios as TRL: (δ̄ − 1/(2β))².
  ipo: defineLoss({
    cite: "IPO, arXiv 2310.12036 (per-token log-ratios, as TRL)",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) => dpoFamily(x, beta, (r) => squaredTo(perTokenMargin(x, r), 1 / (2 * beta))),
  }),

  // IPO as in the paper and OpenRLHF --ipo, on summed log-ratios: (δ − 1/(2β))².
  ipo_unnormalized: defineLoss({
    cite: "IPO, arXiv 2310.12036 (summed log-ratios, as OpenRLHF)",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) => dpoFamily(x, beta, (r) => squaredTo(r.margin, 1 / (2 * beta))),
  }),

  // Length-normalised DPO (TRL `sigmoid_norm`; the normalisation argued for in SimPO, arXiv 2405.14734 §2): −log σ(β·δ̄).
  sigmoid_norm: defineLoss({
    cite: "length-normalised DPO (TRL sigmoid_norm)",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) => dpoFamily(x, beta, (r) => neg(logSigmoid(mul(perTokenMargin(x, r), beta)))),
  }),

  // EXO, Ji et al. 2024 (arXiv 2402.00856), pairwise reverse-KL form with ε-smoothed targets.
  exo_pair: defineLoss({
    cite: "EXO, arXiv 2402.00856",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1, label_smoothing: 1e-3 },
    compute: (x, { beta, label_smoothing: eps }) => {
      checkSmoothing("exo_pair", eps, 1, true);
      return dpoFamily(x, beta, (r) => {
        const z = mul(r.margin, beta);
        const towardChosen = mul(sigmoid(z), sub(logSigmoid(z), Math.log(1 - eps)));
        return add(towardChosen, mul(sigmoid(neg(z)), sub(logSigmoid(neg(z)), Math.log(eps))));
      });
    },
  }),

  // NCA, Chen et al. 2024 (arXiv 2402.05369), pairwise: −log σ(βΔc) − ½log σ(−βΔc) − ½log σ(−βΔr).
  nca_pair: defineLoss({
    cite: "NCA, arXiv 2402.05369",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) =>
      dpoFamily(x, beta, (r) => {
        const [c, rej] = [mul(r.chosen, beta), mul(r.rejected, beta)];
        return neg(add(logSigmoid(c), mul(add(logSigmoid(neg(c)), logSigmoid(neg(rej))), 0.5)));
      }),
  }),

  // BCO, Jung et al. 2024 (arXiv 2404.04656), paired, without the running-mean reward shift.
  bco_pair: defineLoss({
    cite: "BCO, arXiv 2404.04656",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) =>
      dpoFamily(x, beta, (r) => neg(add(logSigmoid(mul(r.chosen, beta)), logSigmoid(mul(r.rejected, -beta))))),
  }),

  // SPPO (hard labels), Wu et al. 2024 (arXiv 2405.00675): (Δc − 1/(2β))² + (Δr + 1/(2β))².
  sppo_hard: defineLoss({
    cite: "SPPO, arXiv 2405.00675",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) =>
      dpoFamily(x, beta, (r) => add(squaredTo(r.chosen, 1 / (2 * beta)), squaredTo(r.rejected, -1 / (2 * beta)))),
  }),

  // APO-zero, D'Oosterlinck et al. 2024 (arXiv 2408.06266): (1 − σ(βΔc)) + σ(βΔr); 1 − σ(u) taken as σ(−u).
  apo_zero: defineLoss({
    cite: "APO-zero, arXiv 2408.06266",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) =>
      dpoFamily(x, beta, (r) => add(sigmoid(mul(r.chosen, -beta)), sigmoid(mul(r.rejected, beta)))),
  }),

  // APO-down, same paper: σ(βΔc) + (1 − σ(β·δ)).
  apo_down: defineLoss({
    cite: "APO-down, arXiv 2408.06266",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) =>
      dpoFamily(x, beta, (r) => add(sigmoid(mul(r.chosen, beta)), sigmoid(mul(r.margin, -beta)))),
  }),

  // DiscoPOP / LRML, Lu et al. 2024 (arXiv 2406.08414): logistic and exponential losses blended by w = σ(z/τ).
  discopop: defineLoss({
    cite: "DiscoPOP, arXiv 2406.08414",
    inputs: REFERENCE_PAIR,
    params: { beta: 0.1, discopop_tau: 0.05 },
    compute: (x, { beta, discopop_tau: tau }) =>
      dpoFamily(x, beta, (r) => {
        const z = mul(r.margin, beta);
        const logistic = mul(sigmoid(mul(z, -1 / tau)), neg(logSigmoid(z)));
        // w·e^(−z) as exp(log w − z): finite even where e^(−z) overflows and w underflows.
        return add(logistic, ops.exp(sub(logSigmoid(mul(z, 1 / tau)), z)));
      }),
  }),

  // F-DPO (arXiv 2601.03027, Algorithm 1): margin shifted by λ·(h_l − h_w) before β; cDPO smoothing as the authors' trainer.
  fdpo: defineLoss({
    cite: "F-DPO, arXiv 2601.03027, Algorithm 1",
    inputs: [...REFERENCE_PAIR, "chosen_hallucinated", "rejected_hallucinated"],
    params: { beta: 0.1, delta: null, label_smoothing: 0 },
    compute: (x, { beta, delta, label_smoothing: eps }) => {
      checkSmoothing("fdpo", eps, 1);
      const shift = mul(sub(x.rejected_hallucinated, x.chosen_hallucinated), delta);
      return dpoFamily(x, beta, (r) => smoothedSigmoidLoss(mul(sub(r.margin, shift), beta), eps));
    },
  }),
} satisfies Record<string, LossSpec>;

// ---------------------------------------------------------------------------------------------
// LD-DPO

/**
 * LD-DPO (Liu et al. 2024, arXiv 2409.06411): the log-prob of a response is split at the shared
 * length l_p = min(|c|, |r|) of its pair, and the tokens past l_p count with weight α = ld_alpha:
 * ℓ = Σ_{t ≤ l_p} log p_t + α·Σ_{t > l_p} log p_t. With α = 1 this is the plain sum.
 *
 * It works on per-token log-probs, so it runs before the loss table: compute it for the policy and
 * for the reference (TRL applies it to both), then pass the results as the `*_logps` inputs of any
 * paired loss. Inputs: per-token log-probs [B, T] of each side and their 0/1 completion masks
 * (any padding layout; completion tokens are counted in row order).
 */
export function ldLogps(
  chosen: { tokenLogps: Tensor; mask: readonly (readonly number[])[] },
  rejected: { tokenLogps: Tensor; mask: readonly (readonly number[])[] },
  ldAlpha: number,
): { chosen: Tensor; rejected: Tensor } {
  if (!(ldAlpha >= 0 && ldAlpha <= 1)) throw new SeapoError(`ld_alpha must be in [0, 1], got ${ldAlpha}`);
  const count = (mask: readonly (readonly number[])[]): number[] =>
    mask.map((row) => row.reduce((n, m) => n + (m !== 0 ? 1 : 0), 0));
  const [chosenLengths, rejectedLengths] = [count(chosen.mask), count(rejected.mask)];
  if (chosenLengths.length !== rejectedLengths.length) {
    throw new RangeError(`ldLogps: ${chosenLengths.length} chosen rows but ${rejectedLengths.length} rejected rows`);
  }
  const shared = chosenLengths.map((n, i) => Math.min(n, rejectedLengths[i]!));
  return {
    chosen: ldWeightedSum(chosen.tokenLogps, chosen.mask, shared, ldAlpha),
    rejected: ldWeightedSum(rejected.tokenLogps, rejected.mask, shared, ldAlpha),
  };
}

function ldWeightedSum(
  tokenLogps: Tensor,
  mask: readonly (readonly number[])[],
  shared: readonly number[],
  alpha: number,
): Tensor {
  const [rows, cols] = tokenLogps.shape as [number, number];
  if (tokenLogps.ndim !== 2 || mask.length !== rows || mask.some((row) => row.length !== cols)) {
    throw new RangeError(`ldLogps: mask must be [${tokenLogps.shape.join(", ")}] like the token log-probs`);
  }
  const weights = new Float32Array(rows * cols);
  mask.forEach((row, b) => {
    const tokenWeights = ldWeights(row.filter((m) => m !== 0).length, shared[b]!, alpha);
    let seen = 0;
    row.forEach((m, t) => {
      if (m !== 0) weights[b * cols + t] = tokenWeights[seen++]!;
    });
  });
  return ops.sum(mul(tokenLogps, new Tensor(weights, [rows, cols])), 1);
}

/** LD-DPO's weight of each of a response's `length` tokens: 1 up to the pair's shared length, α after. */
export function ldWeights(length: number, shared: number, alpha: number): number[] {
  return Array.from({ length }, (_, t) => (t < shared ? 1 : alpha));
}
