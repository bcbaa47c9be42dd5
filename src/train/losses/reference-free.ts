/**
 * Reference-free paired losses: SimPO, CPO, ORPO (TRL and LLaMA-Factory forms).
 *
 * ℓ̄ = ℓ/|c| is the per-token average log-prob. `nll_chosen` is the mean token NLL of the chosen
 * completions, an input of its own (the trainer computes it with the same forward pass); it is
 * added to the batch loss, never to the per-example losses.
 * Metrics: reward = β·x, where x is the log-prob the loss sees (ℓ for CPO, ℓ̄ for SimPO and ORPO).
 */
import { ops, type Tensor } from "../../engine/index.js";
import { SeapoError } from "../../errors.js";
import { preferenceMetrics, type MetricExtras } from "../metrics.js";
import {
  atLeastOne,
  checkSmoothing,
  defineLoss,
  log1mExp,
  logSigmoid,
  lossOutput,
  smoothedSigmoidLoss,
  values,
} from "./common.js";
import type { Inputs, LossOutput, LossSpec } from "./common.js";

const { add, div, mul, neg, sub } = ops;

/** The inputs every reference-free paired loss needs. */
export const POLICY_PAIR = [
  "policy_chosen_logps",
  "policy_rejected_logps",
  "chosen_lengths",
  "rejected_lengths",
] as const;
type Pair = Inputs<(typeof POLICY_PAIR)[number]>;

function averaged(x: Pair): { chosen: Tensor; rejected: Tensor } {
  return {
    chosen: div(x.policy_chosen_logps, atLeastOne(x.chosen_lengths)),
    rejected: div(x.policy_rejected_logps, atLeastOne(x.rejected_lengths)),
  };
}

/** Reward metrics (β·x per side, float64) plus the extras a loss reports. */
function rewardMetrics(
  chosen: Tensor,
  rejected: Tensor,
  beta: number,
  extras: MetricExtras = {},
): Record<string, number> {
  const [c, r] = [values(chosen), values(rejected)];
  return preferenceMetrics(
    {
      kind: "paired",
      chosenRewards: c.map((v) => beta * v),
      rejectedRewards: r.map((v) => beta * v),
      chosenLogps: c,
      rejectedLogps: r,
    },
    extras,
  );
}

function requireNll(loss: string, x: Pair): Tensor {
  if (x.nll_chosen === undefined)
    throw new SeapoError(`loss ${loss}: the nll_chosen input is required (mean token NLL of the chosen completions)`);
  return x.nll_chosen;
}

/** Shared by SimPO and CPO: smoothed −log σ(u) per pair, plus cpo_alpha·NLL when α ≠ 0; nll_loss is logged whenever given. */
interface ContrastiveParams {
  beta: number;
  label_smoothing: number;
  cpo_alpha: number;
}

function contrastive(
  loss: string,
  x: Pair,
  chosen: Tensor,
  rejected: Tensor,
  p: ContrastiveParams,
  gamma = 0,
): LossOutput {
  checkSmoothing(loss, p.label_smoothing, 0.5);
  const u = sub(mul(sub(chosen, rejected), p.beta), gamma);
  const perExample = smoothedSigmoidLoss(u, p.label_smoothing);
  const nll = p.cpo_alpha === 0 ? x.nll_chosen : requireNll(loss, x);
  const metrics = rewardMetrics(chosen, rejected, p.beta, nll === undefined ? {} : { nllLoss: nll.data[0]! });
  const nllTerm = p.cpo_alpha === 0 || nll === undefined ? undefined : mul(nll, p.cpo_alpha);
  return lossOutput(perExample, metrics, nllTerm);
}

/** ORPO's log odds ratio LO = log odds(ℓ̄c) − log odds(ℓ̄r), with log odds(x) = x − log(1 − eˣ). */
function logOddsRatio(x: Pair): { lo: Tensor; chosen: Tensor; rejected: Tensor } {
  const { chosen, rejected } = averaged(x);
  const lo = sub(sub(chosen, rejected), sub(log1mExp(chosen), log1mExp(rejected)));
  return { lo, chosen, rejected };
}

export const referenceFreeLosses = {
  // SimPO, Meng et al. 2024 (arXiv 2405.14734), Eq. 6: −log σ(β(ℓ̄c − ℓ̄r) − γ); TRL CPOTrainer loss_type='simpo'.
  simpo: defineLoss({
    cite: "SimPO, arXiv 2405.14734, Eq. 6",
    inputs: POLICY_PAIR,
    optional: ["nll_chosen"],
    params: { beta: 2.0, simpo_gamma: 0.5, label_smoothing: 0, cpo_alpha: 0 },
    compute: (x, p) => {
      const { chosen, rejected } = averaged(x);
      return contrastive("simpo", x, chosen, rejected, p, p.simpo_gamma);
    },
  }),

  // CPO, Xu et al. 2024 (arXiv 2401.08417): reference-free DPO on summed log-probs plus cpo_alpha·NLL on chosen.
  cpo: defineLoss({
    cite: "CPO, arXiv 2401.08417",
    inputs: [...POLICY_PAIR, "nll_chosen"],
    params: { beta: 0.1, cpo_alpha: 1.0, label_smoothing: 0 },
    compute: (x, p) => contrastive("cpo", x, x.policy_chosen_logps, x.policy_rejected_logps, p),
  }),

  // ORPO, Hong et al. 2024 (arXiv 2403.07691), Eq. 6–7: NLL + λ·(−log σ(LO)); λ is TRL's beta.
  orpo: defineLoss({
    cite: "ORPO, arXiv 2403.07691, Eq. 6-7",
    inputs: [...POLICY_PAIR, "nll_chosen"],
    params: { beta: 0.1 },
    compute: (x, { beta }) => {
      const { lo, chosen, rejected } = logOddsRatio(x);
      const ratio = logSigmoid(lo);
      const extras = { nllLoss: x.nll_chosen.data[0]!, logOddsRatio: values(ratio), logOddsChosen: values(lo) };
      const metrics = rewardMetrics(chosen, rejected, beta, extras);
      return lossOutput(mul(ratio, -beta), metrics, x.nll_chosen);
    },
  }),

  // ORPO as LLaMA-Factory's pref_loss='orpo': the NLL term is each pair's −ℓ̄c, inside the per-example loss.
  orpo_llamafactory: defineLoss({
    cite: "ORPO, arXiv 2403.07691 (LLaMA-Factory form)",
    inputs: POLICY_PAIR,
    params: { beta: 0.1 },
    compute: (x, { beta }) => {
      const { lo, chosen, rejected } = logOddsRatio(x);
      const ratio = logSigmoid(lo);
      const metrics = rewardMetrics(chosen, rejected, beta, { logOddsRatio: values(ratio), logOddsChosen: values(lo) });
      return lossOutput(neg(add(chosen, mul(ratio, beta))), metrics);
    },
  }),
} satisfies Record<string, LossSpec>;
