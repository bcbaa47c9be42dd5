/**
 * The scoring rules lm-evaluation-harness applies, as plain functions over numbers.
 * Log-likelihoods are natural-log sums over the continuation's tokens.
 */

/** log(Σ exp(x)) without overflow; -Infinity for an empty list or when every term is -Infinity. */
export function logSumExp(xs: readonly number[]): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

/** Index of the largest value; on a tie the first one wins, and a NaN wins outright (numpy's argmax). */
export function argmaxFirst(xs: readonly number[]): number {
  const nan = xs.findIndex((x) => Number.isNaN(x));
  if (nan >= 0) return nan;
  let best = xs.length > 0 ? 0 : -1;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** Python's len(): code points, not UTF-16 units. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Multiple choice by log-likelihood. acc: the choice with the highest summed log-likelihood is the gold one.
 * acc_norm: the same after dividing each log-likelihood by its choice's length in characters
 * (the choice text without the leading space the request adds).
 */
export function multipleChoice(
  logliks: readonly number[],
  choices: readonly string[],
  gold: number,
): { acc: number; acc_norm: number } {
  const normalised = logliks.map((ll, i) => ll / charLength(choices[i] ?? ""));
  return { acc: argmaxFirst(logliks) === gold ? 1 : 0, acc_norm: argmaxFirst(normalised) === gold ? 1 : 0 };
}

/** TruthfulQA MC1: the correct answer is always listed first. */
export function truthfulqaMc1(logliks: readonly number[]): number {
  return argmaxFirst(logliks) === 0 ? 1 : 0;
}

/**
 * TruthfulQA MC2: the probability mass of the true answers, normalised over all answers, computed as
 * exp(LSE(true) − LSE(all)). Which answers are true depends on the harness version: 3.0 (current)
 * takes every answer labelled 1; 2.0 took those before the first 0 label and counted all the rest
 * as false (two rows of the v0 file list a true answer after a false one). The harness normalises
 * exp(ll) directly, which is the same value until every exp underflows (it then gives NaN; this does not).
 */
export function truthfulqaMc2(
  logliks: readonly number[],
  labels: readonly number[],
  version: "2.0" | "3.0" = "3.0",
): number {
  const split = labels.indexOf(0);
  if (split < 0) throw new Error("truthfulqaMc2: no false answer among the labels");
  const all = logSumExp(logliks);
  const trueLogliks = version === "2.0" ? logliks.slice(0, split) : logliks.filter((_, i) => labels[i] === 1);
  const truthful = logSumExp(trueLogliks);
  if (truthful === -Infinity) return 0;
  return Math.exp(truthful - all);
}

/**
 * The unbiased pass@k estimator of Chen et al. (2021): 1 − C(n−c, k)/C(n, k), evaluated as a
 * product so large n does not overflow. n samples, c of them correct.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new Error(`pass@${k} needs at least ${k} samples, got ${n}`);
  if (n - c < k) return 1;
  let failAll = 1;
  for (let i = n - c + 1; i <= n; i++) failAll *= 1 - k / i;
  return 1 - failAll;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Standard error of the mean from the sample standard deviation (n − 1); null below two values. */
export function meanStderr(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1) / xs.length);
}

/**
 * The harness's standard error for a size-weighted group of subtasks: pooled sample variance
 * Σ (nᵢ − 1)·nᵢ·seᵢ² / (N − groups), then sqrt(var / N). A subtask of one item contributes nothing
 * (its factor nᵢ − 1 is zero), so its missing stderr does not matter.
 */
export function pooledStderr(stderrs: ReadonlyArray<number | null>, sizes: readonly number[]): number | null {
  const total = sizes.reduce((a, b) => a + b, 0);
  const dof = total - sizes.length;
  if (dof <= 0) return null;
  let sum = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    const se = stderrs[i];
    if (size <= 1) continue;
    if (se === null || se === undefined) return null;
    sum += (size - 1) * se * se * size;
  }
  return Math.sqrt(sum / dof / total);
}
