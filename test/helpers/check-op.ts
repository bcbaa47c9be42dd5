/**
 * checkOp: one-line op tests. For random inputs of the given shapes it checks
 *  - the forward values against an optional float64 reference,
 *  - every input's gradient against central finite differences (loss = Σ out ⊙ R, R random,
 *    accumulated in float64), and
 *  - the forward values and gradients of the native backend against ts. Without a built addon this
 *    comparison is skipped with one warning saying why, or fails when SEAPO_REQUIRE_NATIVE=1 (CI).
 * It throws with the op's label, the input, the element and the largest difference on a mismatch.
 */
import { tsBackend } from "../../src/engine/backends/ts.js";
import { loadNativeBackend, nativeBackendError } from "../../src/engine/backends/native.js";
import { withBackend, type Backend } from "../../src/engine/backend.js";
import { Rng } from "../../src/engine/random.js";
import { noGrad, sizeOf, Tensor } from "../../src/engine/tensor.js";

export type Init = "normal" | "positive" | "distinct" | ((shape: readonly number[], rng: Rng) => Float32Array);

export interface CheckOpOptions {
  /** Allowed |analytic − numeric| ≤ atol + rtol·|numeric| (defaults 1e-3, 1e-2). */
  atol?: number;
  rtol?: number;
  /** Finite-difference step (default 1e-2; float32 forward passes need a large one). */
  eps?: number;
  seed?: number;
  /** Input values: normal (default), positive (for log/sqrt), distinct (well separated, for max). */
  init?: Init | Init[];
  /** Indices of inputs that are constants (not differentiated). */
  constants?: number[];
  /** At most this many elements per input are checked by finite differences (default 40). */
  maxChecks?: number;
  /** Float64 forward reference on the flat input values; compared with `forwardTol`. */
  reference?: (...inputs: number[][]) => ArrayLike<number>;
  forwardTol?: number;
  /** Tolerance between native and ts values/gradients (relative to the largest magnitude, default 1e-4). */
  backendTol?: number;
  label?: string;
}

export interface CheckOpReport {
  maxGradError: number;
  checked: number;
  comparedBackends: boolean;
}

function makeInput(shape: readonly number[], rng: Rng, init: Init, index: number): Float32Array {
  const n = sizeOf(shape);
  if (typeof init === "function") return init(shape, rng);
  const data = new Float32Array(n);
  if (init === "distinct") {
    // A shuffled ladder with steps of 0.1, shifted per input: no two values, in this input or another,
    // lie within a finite-difference step of each other.
    const values = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1 + index * 0.033);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    data.set(values);
    return data;
  }
  for (let i = 0; i < n; i++) data[i] = init === "positive" ? rng.uniform(0.5, 2) : rng.normal();
  return data;
}

function weightedSum(out: Tensor, weights: Float64Array): number {
  let total = 0;
  for (let i = 0; i < out.size; i++) total += out.data[i]! * weights[i]!;
  return total;
}

function sampleIndices(n: number, max: number, rng: Rng): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < max) picked.add(rng.int(n));
  return [...picked].sort((a, b) => a - b);
}

interface Run {
  out: Tensor;
  grads: (Float32Array | null)[];
}

function runOnce(
  fn: (...xs: Tensor[]) => Tensor,
  values: Float32Array[],
  shapes: readonly (readonly number[])[],
  constants: Set<number>,
  weights: (out: Tensor) => Float64Array,
): Run {
  const inputs = values.map((v, i) => new Tensor(v.slice(), shapes[i]!, { requiresGrad: !constants.has(i) }));
  const out = fn(...inputs);
  const w = weights(out);
  if (out.requiresGrad) out.backward(new Tensor(Float32Array.from(w), out.shape));
  return { out, grads: inputs.map((t) => (t.grad ? t.grad.data : null)) };
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

function compareBackends(label: string, ref: Run, other: Run, tol: number, name: string): void {
  const pairs: [string, ArrayLike<number>, ArrayLike<number> | null][] = [
    ["output", ref.out.data, other.out.data],
    ...ref.grads.map((g, i): [string, ArrayLike<number>, ArrayLike<number> | null] => [
      `grad of input ${i}`,
      g ?? [],
      other.grads[i] ?? (g ? null : []),
    ]),
  ];
  for (const [what, a, b] of pairs) {
    if (b === null) throw new Error(`${label}: ${name} backend gave no ${what}`);
    const scale = Math.max(1, maxAbs(a));
    for (let i = 0; i < a.length; i++) {
      const diff = Math.abs(a[i]! - b[i]!);
      if (!(diff <= tol * scale)) {
        throw new Error(
          `${label}: ${name} vs ts ${what} differs at ${i}: ${b[i]} vs ${a[i]} (|diff| ${diff.toExponential(2)})`,
        );
      }
    }
  }
}

let warnedNoNative = false;

/**
 * The backend to compare with ts: the native one, or undefined when the addon is not built. Then it
 * throws when `env.SEAPO_REQUIRE_NATIVE` is "1" (CI), else warns once with the reason.
 */
export function nativeToCompare(
  load: () => Backend | undefined = loadNativeBackend,
  env: NodeJS.ProcessEnv = process.env,
  reason: () => string | undefined = nativeBackendError,
): Backend | undefined {
  const native = load();
  if (native) return native;
  const why = reason() ?? "unknown reason";
  if (env.SEAPO_REQUIRE_NATIVE === "1") {
    throw new Error(`checkOp: SEAPO_REQUIRE_NATIVE=1, but the native backend is unavailable: ${why}`);
  }
  if (!warnedNoNative) {
    warnedNoNative = true;
    console.warn(`checkOp: native backend unavailable (${why}); comparing against ts only`);
  }
  return undefined;
}

/** Checks an op's forward, its gradients against finite differences, and native against ts. */
export function checkOp(
  shapes: readonly (readonly number[])[],
  fn: (...xs: Tensor[]) => Tensor,
  options: CheckOpOptions = {},
): CheckOpReport {
  const {
    atol = 1e-3,
    rtol = 1e-2,
    eps = 1e-2,
    seed = 1,
    maxChecks = 40,
    forwardTol = 1e-5,
    backendTol = 1e-4,
  } = options;
  const label = options.label ?? (fn.toString().slice(0, 80) || "op");
  const constants = new Set(options.constants ?? []);
  const rng = new Rng(seed);
  const init = options.init ?? "normal";
  const inits: Init[] = Array.isArray(init) ? init : shapes.map(() => init);
  const values = shapes.map((shape, i) => makeInput(shape, rng, inits[i] ?? "normal", i));
  let weights: Float64Array | undefined;
  const weightsFor = (out: Tensor): Float64Array => {
    if (weights === undefined) {
      weights = new Float64Array(out.size);
      for (let i = 0; i < out.size; i++) weights[i] = rng.normal();
    }
    return weights;
  };

  return withBackend(tsBackend, () => {
    const ts = runOnce(fn, values, shapes, constants, weightsFor);

    if (options.reference) {
      const expected = options.reference(...values.map((v) => Array.from(v)));
      if (expected.length !== ts.out.size)
        throw new Error(`${label}: reference has ${expected.length} values, op has ${ts.out.size}`);
      const scale = Math.max(1, maxAbs(expected));
      for (let i = 0; i < expected.length; i++) {
        const diff = Math.abs(ts.out.data[i]! - expected[i]!);
        if (!(diff <= forwardTol * scale)) {
          throw new Error(
            `${label}: forward value ${i} is ${ts.out.data[i]}, reference ${expected[i]} (|diff| ${diff.toExponential(2)})`,
          );
        }
      }
    }

    let maxGradError = 0;
    let checked = 0;
    values.forEach((value, i) => {
      if (constants.has(i)) return;
      const analytic = ts.grads[i];
      if (!analytic) throw new Error(`${label}: input ${i} received no gradient`);
      const inputs = values.map((v, j) => new Tensor(v.slice(), shapes[j]!));
      const x = inputs[i]!.data;
      for (const k of sampleIndices(value.length, maxChecks, rng)) {
        const original = x[k]!;
        x[k] = original + eps;
        const up = x[k]! - original;
        const lossUp = noGrad(() => weightedSum(fn(...inputs), weights!));
        x[k] = original - eps;
        const down = x[k]! - original;
        const lossDown = noGrad(() => weightedSum(fn(...inputs), weights!));
        x[k] = original;
        const numeric = (lossUp - lossDown) / (up - down);
        const error = Math.abs(analytic[k]! - numeric);
        maxGradError = Math.max(maxGradError, error);
        checked++;
        if (!(error <= atol + rtol * Math.abs(numeric))) {
          throw new Error(
            `${label}: gradient of input ${i} (shape [${shapes[i]!.join(", ")}]) at element ${k}: analytic ${analytic[k]}, numeric ${numeric} (|diff| ${error.toExponential(2)})`,
          );
        }
      }
    });

    const native = nativeToCompare();
    if (native) {
      const other = withBackend(native, () => runOnce(fn, values, shapes, constants, weightsFor));
      compareBackends(label, ts, other, backendTol, native.name);
    }
    return { maxGradError, checked, comparedBackends: native !== undefined };
  });
}
