/**
 * Frozen weights held as bf16 bits only (half of f32's bytes), multiplied in f32.
 *
 * A weight whose every value is exactly a bf16 (as each value read from a bf16 safetensors file is)
 * loses nothing when kept as its upper 16 bits. Its products widen it back: on the native backend
 * through `gemmBf16`'s widened form, which is the f32 GEMM bit for bit; on the other backends by
 * widening into one scratch buffer per product and calling the backend's f32 gemm. Either way the
 * results equal those of the same values held in f32, to the last bit.
 */
import { activeNativeKernels, backend } from "./backend.js";
import type { Bf16Matrix } from "./bf16-matrix.js";
import type { GemmOptions } from "./kernels.js";
import { allocate } from "./pool.js";
import { ShapeError } from "./ops.js";
import { isGradEnabled, Tensor } from "./tensor-core.js";

// One widened weight at a time for the non-native backends (the engine is single-threaded).
let scratch = new Float32Array(0);

/** c = op(a)·op(w) as gemm computes it, with B the widened weight. */
export function gemmFrozen(a: Float32Array, w: Bf16Matrix, c: Float32Array, options: GemmOptions): void {
  const kernels = activeNativeKernels();
  if (kernels) return kernels.gemmBf16(a, w.bits, c, options);
  if (scratch.length < w.bits.length) scratch = new Float32Array(w.bits.length);
  backend().gemm(a, w.widen(scratch.subarray(0, w.bits.length)), c, options);
}

/** x [N, cols] · wᵀ → [N, rows] (a Linear's forward); differentiable with respect to x only. */
export function frozenMatmul(x: Tensor, w: Bf16Matrix): Tensor {
  if (x.ndim !== 2 || x.dim(1) !== w.cols)
    throw new ShapeError("frozenMatmul", `expected x [N, ${w.cols}] for the weight [${w.rows}, ${w.cols}]`, [x.shape]);
  const rows = x.dim(0);
  const out = allocate(rows * w.rows);
  gemmFrozen(x.data, w, out, { m: rows, n: w.rows, k: w.cols, transB: true });
  const tracked = isGradEnabled() && x.requiresGrad;
  return new Tensor(
    out,
    [rows, w.rows],
    tracked ? { node: { op: "frozenMatmul", inputs: [x], attrs: { weight: w } } } : {},
  );
}

/** The gradient rule: dx = g · w for the output gradient g [N, rows]. */
export function frozenMatmulBackward(g: Tensor, inputs: readonly Tensor[], attrs: { weight: Bf16Matrix }): [Tensor] {
  const x = inputs[0]!;
  const w = attrs.weight;
  const dx = allocate(x.size);
  gemmFrozen(g.data, w, dx, { m: x.dim(0), n: w.cols, k: w.rows });
  return [new Tensor(dx, x.shape)];
}
