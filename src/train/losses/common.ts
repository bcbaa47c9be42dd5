/**
 * What every preference loss shares: the input names, the shape of a loss entry, and the few
 * numerically careful composites (log σ, log(1 − eˣ)) built from engine primitives.
 *
 * Inputs are per-example SUMMED completion log-probs ([B] tensors, natural log), completion token
 * counts and 0/1 flags, named as in the golden loss file that test/train/losses.test.ts checks the
 * table against (shared/golden/losses.json beside the repository, or $SEAPO_GOLDEN_LOSSES). Everything
 * except the policy log-probs and `nll_chosen` is a constant.
 */
import { ops, Tensor } from "../../engine/index.js";
import { SeapoError } from "../../errors.js";

/** Every input a loss may read. All are [B] except `nll_chosen`, a scalar, and the `*_list_*` ones, [B, K]. */
export type InputName =
  // paired (DPO family, reference-free)
  | "policy_chosen_logps"
  | "policy_rejected_logps"
  | "reference_chosen_logps"
  | "reference_rejected_logps"
  | "chosen_lengths"
  | "rejected_lengths"
  // F-DPO: 1 = hallucinated
  | "chosen_hallucinated"
  | "rejected_hallucinated"
  // mean token NLL of the chosen completions (CPO, ORPO, SimPO with cpo_alpha ≠ 0)
  | "nll_chosen"
  // unpaired (KTO): 1 = desirable, 0 = undesirable
  | "policy_logps"
  | "reference_logps"
  | "labels"
  | "kl_policy_logps"
  | "kl_reference_logps"
  // listwise (one chosen, K rejected): [B, K] summed log-probs of the rejected and their 0/1 mask
  | "policy_rejected_list_logps"
  | "reference_rejected_list_logps"
  | "rejected_list_mask";

export type LossInputs = { readonly [K in InputName]?: Tensor };
/** The inputs a loss declared as required are present; the rest may be. */
export type Inputs<I extends InputName> = { readonly [K in I]: Tensor } & LossInputs;

export type Params<P extends string> = { readonly [K in P]: number };

export interface LossOutput {
  /** [B] per-example (per-item for KTO) losses, without any NLL term. */
  perExample: Tensor;
  /** Scalar: mean of perExample, plus the NLL term where the loss has one. */
  loss: Tensor;
  /** TRL's logged names (see `../metrics.ts`). */
  metrics: Record<string, number>;
}

export interface LossSpec<I extends InputName = InputName, P extends string = string> {
  /** Paper (and equation) the formula comes from, for error messages and help. */
  readonly cite: string;
  /** Inputs that must be present. */
  readonly inputs: readonly I[];
  /** Inputs read when present (or when a parameter asks for them). */
  readonly optional?: readonly InputName[];
  /** TRL parameter names with their defaults; null marks a parameter the caller must give. */
  readonly params: { readonly [K in P]: number | null };
  // Method syntax on purpose: entries with narrower inputs still fit the table's Record type.
  compute(x: Inputs<I>, p: Params<P>): LossOutput;
}

/** Identity that lets TypeScript infer an entry's input and parameter names. */
export function defineLoss<I extends InputName, P extends string>(spec: LossSpec<I, P>): LossSpec<I, P> {
  return spec;
}

// ---------------------------------------------------------------------------------------------
// numerics

/**
 * log σ(x) = min(x, 0) − log(1 + e^−|x|), overflow-free at |x| = 1000. The kinks of min and |·|
 * are taken with a constant sign mask (x ≥ 0 counts as positive), so the gradient is exactly
 * σ(−x) everywhere, 0.5 at x = 0. Its gradient keeps full relative precision where σ(−x) is tiny
 * (it comes from e^−|x|, not from 1 − σ(x)): ORPO multiplies it by ~1e9 near ℓ̄ = 0.
 */
export function logSigmoid(x: Tensor): Tensor {
  const positive = maskOf(x, (v) => v >= 0);
  const sign = ops.sub(ops.mul(positive, 2), 1);
  const negativePart = ops.mul(x, ops.sub(1, positive));
  return ops.sub(negativePart, ops.log(ops.add(ops.exp(ops.neg(ops.mul(x, sign))), 1)));
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return ops.maximum(x, 0);
}

/** 1 where pick(value) holds, else 0: a constant mask read from x's values. */
function maskOf(x: Tensor, pick: (value: number) => boolean): Tensor {
  return new Tensor(
    Float32Array.from(x.data, (v) => (pick(v) ? 1 : 0)),
    x.shape,
  );
}

/** mask·a + (1 − mask)·b for a constant 0/1 mask. */
function select(mask: Tensor, a: Tensor, b: Tensor): Tensor {
  return ops.add(ops.mul(mask, a), ops.mul(ops.sub(1, mask), b));
}

/** Below this |x|, 1 − eˣ comes from its series; above, from exp. */
const SERIES_BELOW = 0.1;
/** Inputs are clamped to x ≤ −GAP, so ℓ̄ = 0 (a completion the model is sure of) stays finite. */
const GAP = 1e-20;

/**
 * log(1 − eˣ) for x < 0 (ORPO's log-odds), accurate as x → 0⁻ where 1 − eˣ cancels in float32.
 * Near 0 it uses 1 − eˣ = −x·(1 + x/2 + x²/6 + x³/24 + x⁴/120 + x⁵/720) (truncation < 1e-9
 * relative for |x| < 0.1), elsewhere 1 − exp(x) directly. Each branch sees a safe stand-in value
 * where it is not selected, so neither its value nor its gradient can be NaN.
 */
export function log1mExp(x: Tensor): Tensor {
  const clamped = ops.neg(ops.maximum(ops.neg(x), GAP)); // min(x, −GAP)
  const near = maskOf(clamped, (v) => v > -SERIES_BELOW);
  const xNear = select(near, clamped, scalarLike(clamped, -SERIES_BELOW / 2));
  const xFar = select(near, scalarLike(clamped, -1), clamped);
  let series = ops.add(ops.mul(xNear, 1 / 720), 1 / 120);
  for (const c of [1 / 24, 1 / 6, 1 / 2, 1]) series = ops.add(ops.mul(series, xNear), c);
  const nearValue = ops.log(ops.mul(ops.neg(xNear), series));
  const farValue = ops.log(ops.sub(1, ops.exp(xFar)));
  return select(near, nearValue, farValue);
}

function scalarLike(x: Tensor, value: number): Tensor {
  return new Tensor(new Float32Array(x.size).fill(value), x.shape);
}

/** max(lengths, 1): the divisor for per-token averages. */
export function atLeastOne(lengths: Tensor): Tensor {
  return ops.maximum(lengths, 1);
}

/**
 * The label-smoothed sigmoid loss −(1−ε)·log σ(u) − ε·log σ(−u) (cDPO; with ε = 0, DPO).
 * Shared by cdpo, fdpo, cpo and simpo.
 */
export function smoothedSigmoidLoss(u: Tensor, epsilon: number): Tensor {
  const forward = ops.mul(logSigmoid(u), -(1 - epsilon));
  return epsilon === 0 ? forward : ops.sub(forward, ops.mul(logSigmoid(ops.neg(u)), epsilon));
}

/** Label smoothing ε must lie in [0, upper) (or (0, upper) when `positive`). */
export function checkSmoothing(loss: string, epsilon: number, upper: number, positive = false): void {
  const ok = (positive ? epsilon > 0 : epsilon >= 0) && epsilon < upper;
  if (!ok)
    throw new SeapoError(
      `loss ${loss}: label_smoothing must be in ${positive ? "(0" : "[0"}, ${upper}), got ${epsilon}`,
    );
}

/** The float64 numbers float32 input tensors were rounded from, where the caller kept them. */
const float64Values = new WeakMap<Tensor, Float64Array>();

/**
 * Keeps the float64 values an input tensor was made from, so the metrics (computed in float64
 * from the inputs) see them unrounded. The loss itself runs on the tensor's float32 data.
 */
export function keepFloat64(t: Tensor, exact: ArrayLike<number>): Tensor {
  if (exact.length !== t.size) throw new RangeError(`keepFloat64: ${exact.length} values for a tensor of ${t.size}`);
  float64Values.set(t, Float64Array.from(exact));
  return t;
}

/** An input's values as float64 numbers (the kept ones, else its float32 data widened). */
export function values(t: Tensor): Float64Array {
  return float64Values.get(t)?.slice() ?? Float64Array.from(t.data);
}

/** a − b elementwise in float64. */
export function difference(a: Tensor, b: Tensor): Float64Array {
  const [x, y] = [values(a), values(b)];
  return x.map((v, i) => v - y[i]!);
}

/** Packs a loss: batch mean of perExample, plus an optional extra term (an NLL). */
export function lossOutput(perExample: Tensor, metrics: Record<string, number>, extra?: Tensor): LossOutput {
  const mean = ops.mean(perExample);
  return { perExample, loss: extra === undefined ? mean : ops.add(mean, extra.reshape([])), metrics };
}
