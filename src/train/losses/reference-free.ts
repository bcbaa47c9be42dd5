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

/** The per-token average log-probs ℓ̄ of each side in float64, for the metrics. */
function averagedValues(x: Pair): { chosen: Float64Array; rejected: Float64Array } {
  const per = (logps: Tensor, lengths: Tensor) => {
    const n = values(lengths);
    return values(logps).map((v, i) => v / Math.max(n[i]!, 1));
  };
  return {
    chosen: per(x.policy_chosen_logps, x.chosen_lengths),
    rejected: per(x.policy_rejected_logps, x.rejected_lengths),
  };
}

/** Reward metrics (β·x per side, from float64 values x) plus the extras a loss reports. */
function rewardMetrics(
  c: Float64Array,
  r: Float64Array,
  beta: number,
  extras: MetricExtras = {},
): Record<string, number> {
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

/** ORPO's metrics in float64: log σ(LO) and LO per pair, with log(1 − eˣ) taken without cancellation. */
function logOddsValues(x: Pair): { ratio: Float64Array; lo: Float64Array } {
  const log1mExp64 = (v: number) => (v > -Math.LN2 ? Math.log(-Math.expm1(v)) : Math.log1p(-Math.exp(v)));
  const logSigmoid64 = (v: number) => Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v)));
  const { chosen, rejected } = averagedValues(x);
  const lo = chosen.map((c, i) => c - rejected[i]! - (log1mExp64(c) - log1mExp64(rejected[i]!)));
  return { ratio: lo.map(logSigmoid64), lo };
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
  p: ContrastiveParams,
  shape: { average: boolean; gamma: number },
): LossOutput {
  checkSmoothing(loss, p.label_smoothing, 0.5);
  const { chosen, rejected } = shape.average
    ? averaged(x)
    : { chosen: x.policy_chosen_logps, rejected: x.policy_rejected_logps };
  const u = sub(mul(sub(chosen, rejected), p.beta), shape.gamma);
  const perExample = smoothedSigmoidLoss(u, p.label_smoothing);
  const nll = p.cpo_alpha === 0 ? x.nll_chosen : requireNll(loss, x);
  const shown = shape.average
    ? averagedValues(x)
    : { chosen: values(x.policy_chosen_logps), rejected: values(x.policy_rejected_logps) };
  const extras = nll === undefined ? {} : { nllLoss: values(nll)[0]! };
  const metrics = rewardMetrics(shown.chosen, shown.rejected, p.beta, extras);
  const nllTerm = p.cpo_alpha === 0 || nll === undefined ? undefined : mul(nll, p.cpo_alpha);
  return lossOutput(perExample, metrics, nllTerm);
}

/** ORPO's log odds ratio LO = log odds(ℓ̄c) − log odds(ℓ̄r), with log odds(x) = x − log(1 − eˣ). */
function logOddsRatio(x: Pair): Tensor {
  const { chosen, rejected } = averaged(x);
  return sub(sub(chosen, rejected), sub(log1mExp(chosen), log1mExp(rejected)));
}

export const referenceFreeLosses = {
  // SimPO, Meng et al. 2024 (arXiv 2405.14734), Eq. 6: −log σ(β(ℓ̄c − ℓ̄r) − γ); TRL CPOTrainer loss_type='simpo'.
  simpo: defineLoss({
    cite: "SimPO, arXiv 2405.14734, Eq. 6",
    inputs: POLICY_PAIR,
    optional: ["nll_chosen"],
    params: { beta: 2.0, simpo_gamma: 0.5, label_smoothing: 0, cpo_alpha: 0 },
    compute: (x, p) => contrastive("simpo", x, p, { average: true, gamma: p.simpo_gamma }),
  }),

  // CPO, Xu et al. 2024 (arXiv 2401.08417): reference-free DPO on summed log-probs plus cpo_alpha·NLL on chosen.
  cpo: defineLoss({
    cite: "CPO, arXiv 2401.08417",
    inputs: [...POLICY_PAIR, "nll_chosen"],
    params: { beta: 0.1, cpo_alpha: 1.0, label_smoothing: 0 },
    compute: (x, p) => contrastive("cpo", x, p, { average: false, gamma: 0 }),
  }),

  // ORPO, Hong et al. 2024 (arXiv 2403.07691), Eq. 6–7: NLL + λ·(−log σ(LO)); λ is TRL's beta.
  orpo: defineLoss({
    cite: "ORPO, arXiv 2403.07691, Eq. 6-7",
    inputs: [...POLICY_PAIR, "nll_chosen"],
    params: { beta: 0.1 },
    compute: (x, { beta }) => {
      const ratio = logSigmoid(logOddsRatio(x));
      const shown = logOddsValues(x);
      const extras = { nllLoss: values(x.nll_chosen)[0]!, logOddsRatio: shown.ratio, logOddsChosen: shown.lo };
      const { chosen, rejected } = averagedValues(x);
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
      const ratio = logSigmoid(logOddsRatio(x));
      const shown = logOddsValues(x);
      const averages = averagedValues(x);
      const metrics = rewardMetrics(averages.chosen, averages.rejected, beta, {
        logOddsRatio: shown.ratio,
        logOddsChosen: shown.lo,
      });
      return lossOutput(neg(add(averaged(x).chosen, mul(ratio, beta))), metrics);
    },
  }),
} satisfies Record<string, LossSpec>;
