import { expect } from "vitest";
import { Rng } from "../../../src/engine/random.js";
import { loadNativeKernels } from "../../../src/engine/native/index.js";
import type { Floats } from "../../../src/engine/backends/ts-kernels.js";

/** The built addon, or undefined (the native suites then skip). */
export const native = loadNativeKernels();

/** Variants to test: every one this CPU runs (a placeholder keeps skipped suites non-empty). */
export const variants = native?.variants ?? ["scalar"];

export function normals(rng: Rng, length: number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.normal() * scale;
  return out;
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, naming the worst element.
 * `bound`, when given, replaces |expected| in the relative term (e.g. Σ|a||b| for a product).
 */
export function expectClose(
  actual: Floats,
  expected: Floats,
  tolerance: { rtol: number; atol: number },
  bound?: Floats,
): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const scale = bound === undefined ? Math.abs(e) : bound[i]!;
    const excess = Math.abs(a - e) - (tolerance.atol + tolerance.rtol * scale);
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (${countBad(actual, expected, tolerance, bound)} bad of ${actual.length})`);
  }
}

function countBad(actual: Floats, expected: Floats, tolerance: { rtol: number; atol: number }, bound?: Floats): number {
  let bad = 0;
  for (let i = 0; i < actual.length; i++) {
    const scale = bound === undefined ? Math.abs(expected[i]!) : bound[i]!;
    if (!(Math.abs(actual[i]! - expected[i]!) <= tolerance.atol + tolerance.rtol * scale)) bad++;
  }
  return bad;
}

/**
 * d(Σ weights ⊙ f(x))/dx by central differences in float64: f writes its output into `out`.
 * The function is evaluated on copies, so `x` is left unchanged.
 */
export function finiteDifference(
  x: Floats,
  weights: Floats,
  f: (input: Float64Array, out: Float64Array) => void,
  step = 1e-4,
): Float64Array {
  const input = Float64Array.from(x);
  const out = new Float64Array(weights.length);
  const loss = (): number => {
    f(input, out);
    let sum = 0;
    for (let i = 0; i < out.length; i++) sum += weights[i]! * out[i]!;
    return sum;
  };
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = input[i]!;
    input[i] = saved + step;
    const plus = loss();
    input[i] = saved - step;
    const minus = loss();
    input[i] = saved;
    grad[i] = (plus - minus) / (2 * step);
  }
  return grad;
}

/** ‖got − want‖ / ‖want‖ (Euclidean norms). */
export function relativeError(got: Float32Array, want: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < want.length; i++) {
    diff += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}
