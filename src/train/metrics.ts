/**
 * Training metrics under TRL's names, computed in one function, and an accumulator that averages
 * them over the gradient-accumulation steps of a log interval (per mode: train, eval).
 *
 * Names:
 *  - rewards/chosen, rewards/rejected: mean implicit reward of each side
 *  - rewards/accuracies: share of pairs whose chosen reward is strictly larger (ties count 0)
 *  - rewards/margins: mean chosen − rejected reward
 *  - logps/chosen, logps/rejected: mean log-prob the loss saw
 *  - kl (KTO): the clamped reference point z0
 *  - nll_loss (CPO, SimPO, ORPO), log_odds_ratio and log_odds_chosen (ORPO)
 * For unpaired (KTO) batches the chosen/rejected keys are class means over desirable/undesirable
 * items and are absent when the batch has no item of that class; margins needs both classes.
 * For listwise rows (one chosen, K negatives) a row's rejected reward and log-prob are the means
 * over its K negatives, so margins is still chosen − rejected; accuracies counts a row when the
 * chosen beats every negative; rewards/rejected_max (the hardest negative) and
 * rewards/pair_accuracies (share of (chosen, negative) pairs won) are added.
 */

export type Values = ArrayLike<number>;

/** One reward and one log-prob per side of each pair. */
export interface PairedMetricSource {
  kind: "paired";
  chosenRewards: Values;
  rejectedRewards: Values;
  chosenLogps: Values;
  rejectedLogps: Values;
}

/** Per row, the chosen's reward and log-prob, and those of each of its negatives (K ≥ 1, free per row). */
export interface ListwiseMetricSource {
  kind: "listwise";
  chosenRewards: Values;
  rejectedRewards: readonly Values[];
  chosenLogps: Values;
  rejectedLogps: readonly Values[];
}

/** One reward and one log-prob per item, with its label (1 desirable, 0 undesirable). */
export interface UnpairedMetricSource {
  kind: "unpaired";
  rewards: Values;
  logps: Values;
  labels: Values;
  /** The KL reference point z0 (0 for losses without one). */
  kl: number;
}

export interface MetricExtras {
  nllLoss?: number;
  /** Per pair log σ(LO) (ORPO). */
  logOddsRatio?: Values;
  /** Per pair LO, the log odds ratio itself (ORPO). */
  logOddsChosen?: Values;
}

function mean(xs: Values): number {
  let total = 0;
  for (let i = 0; i < xs.length; i++) total += xs[i]!;
  return total / xs.length;
}

function meanWhere(xs: Values, labels: Values, label: number): number | undefined {
  let total = 0;
  let count = 0;
  for (let i = 0; i < xs.length; i++) {
    if (labels[i] === label) {
      total += xs[i]!;
      count++;
    }
  }
  return count === 0 ? undefined : total / count;
}

/** TRL's logged metrics for one batch. */
export function preferenceMetrics(
  source: PairedMetricSource | UnpairedMetricSource | ListwiseMetricSource,
  extras: MetricExtras = {},
): Record<string, number> {
  let out: Record<string, number> = {};
  if (source.kind === "listwise") {
    out = listwiseMetrics(source);
  } else if (source.kind === "paired") {
    const { chosenRewards: c, rejectedRewards: r } = source;
    const margins = Array.from(c, (v, i) => v - r[i]!);
    out["rewards/chosen"] = mean(c);
    out["rewards/rejected"] = mean(r);
    out["rewards/accuracies"] = mean(margins.map((m, i) => (c[i]! > r[i]! ? 1 : 0)));
    out["rewards/margins"] = mean(margins);
    out["logps/chosen"] = mean(source.chosenLogps);
    out["logps/rejected"] = mean(source.rejectedLogps);
  } else {
    out.kl = source.kl;
    const chosen = meanWhere(source.rewards, source.labels, 1);
    const rejected = meanWhere(source.rewards, source.labels, 0);
    if (chosen !== undefined) {
      out["rewards/chosen"] = chosen;
      out["logps/chosen"] = meanWhere(source.logps, source.labels, 1)!;
    }
    if (rejected !== undefined) {
      out["rewards/rejected"] = rejected;
      out["logps/rejected"] = meanWhere(source.logps, source.labels, 0)!;
    }
    if (chosen !== undefined && rejected !== undefined) out["rewards/margins"] = chosen - rejected;
  }
  if (extras.nllLoss !== undefined) out.nll_loss = extras.nllLoss;
  if (extras.logOddsRatio !== undefined) out.log_odds_ratio = mean(extras.logOddsRatio);
  if (extras.logOddsChosen !== undefined) out.log_odds_chosen = mean(extras.logOddsChosen);
  return out;
}

function listwiseMetrics(source: ListwiseMetricSource): Record<string, number> {
  const c = source.chosenRewards;
  const perRow = (f: (chosen: number, negatives: Values, b: number) => number) =>
    mean(Array.from(c, (chosen, b) => f(chosen, source.rejectedRewards[b]!, b)));
  const max = (xs: Values) => Math.max(...Array.from(xs));
  return {
    "rewards/chosen": mean(c),
    "rewards/rejected": perRow((_, negatives) => mean(negatives)),
    "rewards/rejected_max": perRow((_, negatives) => max(negatives)),
    "rewards/margins": perRow((chosen, negatives) => chosen - mean(negatives)),
    "rewards/accuracies": perRow((chosen, negatives) => (chosen > max(negatives) ? 1 : 0)),
    "rewards/pair_accuracies": perRow((chosen, negatives) => mean(Array.from(negatives, (z) => (chosen > z ? 1 : 0)))),
    "logps/chosen": mean(source.chosenLogps),
    "logps/rejected": perRow((_, _negatives, b) => mean(source.rejectedLogps[b]!)),
  };
}

/** Per row, sums over the positions that predict its completion tokens (TRL's completion mask). */
export interface LogitSums {
  /** Σ of the mean logit over the vocabulary (TRL's logits/chosen|rejected numerator). */
  logit: number[];
  /** Σ of the entropy of the next-token distribution, in nats (TRL's entropy numerator). */
  entropy: number[];
  /** Σ of [argmax = the completion token] (TRL's mean_token_accuracy numerator). */
  correct: number[];
  /** Completion tokens. */
  tokens: number[];
}

/**
 * TRL's logit metrics of a batch: logits/chosen and logits/rejected, the mean logit over the
 * vocabulary averaged over the completion tokens of each side (absent for a side without rows);
 * entropy, over every completion token; and, for pairs, mean_token_accuracy over the chosen tokens.
 */
export function logitMetrics(
  sums: LogitSums,
  sides: { chosen: readonly number[]; rejected: readonly number[] },
  withAccuracy: boolean,
): Record<string, number> {
  const total = (key: keyof LogitSums, rows: readonly number[]) => rows.reduce((s, i) => s + sums[key][i]!, 0);
  const out: Record<string, number> = {};
  const all = sums.tokens.map((_, i) => i);
  out.entropy = total("entropy", all) / Math.max(total("tokens", all), 1);
  const [chosenTokens, rejectedTokens] = [total("tokens", sides.chosen), total("tokens", sides.rejected)];
  if (chosenTokens > 0) out["logits/chosen"] = total("logit", sides.chosen) / chosenTokens;
  if (rejectedTokens > 0) out["logits/rejected"] = total("logit", sides.rejected) / rejectedTokens;
  if (withAccuracy && chosenTokens > 0) out.mean_token_accuracy = total("correct", sides.chosen) / chosenTokens;
  return out;
}

export type MetricMode = "train" | "eval";

/**
 * Collects per-step metrics and averages them at log time. Each key is averaged over the steps
 * that reported it, so a KTO class metric missing from one micro-batch does not drag the mean to 0.
 */
export class MetricAccumulator {
  private readonly sums = new Map<MetricMode, Map<string, { total: number; count: number }>>();

  add(metrics: Record<string, number>, mode: MetricMode = "train"): void {
    let table = this.sums.get(mode);
    if (table === undefined) {
      table = new Map();
      this.sums.set(mode, table);
    }
    for (const [key, value] of Object.entries(metrics)) {
      const entry = table.get(key) ?? { total: 0, count: 0 };
      entry.total += value;
      entry.count += 1;
      table.set(key, entry);
    }
  }

  /** Averages collected since the last flush of this mode, then forgets them. */
  flush(mode: MetricMode = "train"): Record<string, number> {
    const table = this.sums.get(mode);
    this.sums.delete(mode);
    const out: Record<string, number> = {};
    for (const [key, { total, count }] of table ?? []) out[key] = total / count;
    return out;
  }
}
