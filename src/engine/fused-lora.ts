/**
 * A LoRA layer as one op: y = base(x) + s·(x_a·Aᵀ)·Bᵀ, with the frozen base, its bias and the adapter
 * written into a single [N, out] buffer.
 *
 * Composed from separate ops, the layer keeps four [N, out] tensors alive until backward (the base
 * product, the adapter product, its scaled copy and their sum) and makes two more passes over them
 * each way. Fused, the tape holds the output, the adapter's input x_a and the rank-r product
 * x_a·Aᵀ; the gradient rule reads only x_a and that product. The base is frozen: nothing here
 * computes a gradient for its weight.
 */
import { backend } from "./backend.js";
import type { GemmOptions } from "./kernels.js";
import type { FrozenLinear, OpAttrs } from "./op-list.js";
import { ShapeError } from "./ops.js";
import { allocate, release } from "./pool.js";
import { isGradEnabled, Tensor } from "./tensor-core.js";

/** The recorded attributes; low = x_a·Aᵀ [N, r], kept from the forward for B's gradient. */
type LoraLinearAttrs = OpAttrs["loraLinear"];

const gemm = (a: Float32Array, b: Float32Array, c: Float32Array, options: GemmOptions): void =>
  backend().gemm(a, b, c, options);

/**
 * out += s·(x_a·Aᵀ)·Bᵀ on raw buffers, leaving x_a·Aᵀ in `low` (at least rows × r values). The same
 * arithmetic serves the taped op and the inference path (LoRALinear.forwardInto).
 */
export function addLoraProduct(
  adapterInput: Float32Array,
  rows: number,
  adapter: { a: Float32Array; b: Float32Array; rank: number; scaling: number },
  out: Float32Array,
  low: Float32Array,
): void {
  const inFeatures = adapter.a.length / adapter.rank;
  const outFeatures = adapter.b.length / adapter.rank;
  gemm(adapterInput, adapter.a, low, { m: rows, n: adapter.rank, k: inFeatures, transB: true });
  const options = { m: rows, n: outFeatures, k: adapter.rank, transB: true, alpha: adapter.scaling, beta: 1 };
  gemm(low, adapter.b, out, options);
}

function checkShapes(x: Tensor, adapterInput: Tensor, a: Tensor, b: Tensor, base: FrozenLinear): void {
  const rank = a.dim(0);
  const ok =
    x.ndim === 2 &&
    x.dim(1) === base.inFeatures &&
    adapterInput.ndim === 2 &&
    adapterInput.dim(0) === x.dim(0) &&
    adapterInput.dim(1) === base.inFeatures &&
    a.ndim === 2 &&
    a.dim(1) === base.inFeatures &&
    b.ndim === 2 &&
    b.dim(0) === base.outFeatures &&
    b.dim(1) === rank;
  if (!ok)
    throw new ShapeError(
      "loraLinear",
      `expected x and x_a [N, ${base.inFeatures}], A [r, ${base.inFeatures}], B [${base.outFeatures}, r]`,
      [x.shape, adapterInput.shape, a.shape, b.shape],
    );
}

/**
 * base(x) + s·(x_a·Aᵀ)·Bᵀ for x, x_a [N, in] (x_a is x, or x after the adapter's dropout), A [r, in],
 * B [out, r]. Differentiable with respect to x, x_a, A and B.
 */
export function loraLinear(
  x: Tensor,
  adapterInput: Tensor,
  loraA: Tensor,
  loraB: Tensor,
  base: FrozenLinear,
  scaling: number,
): Tensor {
  checkShapes(x, adapterInput, loraA, loraB, base);
  const rows = x.dim(0);
  const rank = loraA.dim(0);
  const out = allocate(rows * base.outFeatures);
  base.forwardInto(x.data, rows, out);
  const low = allocate(rows * rank);
  addLoraProduct(adapterInput.data, rows, { a: loraA.data, b: loraB.data, rank, scaling }, out, low);
  const inputs = [x, adapterInput, loraA, loraB];
  if (!(isGradEnabled() && inputs.some((t) => t.requiresGrad))) {
    release(low);
    return new Tensor(out, [rows, base.outFeatures]);
  }
  const attrs: LoraLinearAttrs = { base, scaling, low };
  return new Tensor(out, [rows, base.outFeatures], { node: { op: "loraLinear", inputs, attrs } });
}

/**
 * The gradient rule, for g [N, out] and G = s·g·B [N, r]: dx = g·W (+ G·A when x_a is x), dx_a = G·A,
 * dA = Gᵀ·x_a, dB = s·gᵀ·(x_a·Aᵀ).
 */
export function loraLinearBackward(g: Tensor, inputs: readonly Tensor[], attrs: LoraLinearAttrs): (Tensor | null)[] {
  const [x, adapterInput, a, b] = inputs as [Tensor, Tensor, Tensor, Tensor];
  const { base, scaling, low } = attrs;
  const rows = x.dim(0);
  const rank = a.dim(0);
  const [inF, outF] = [base.inFeatures, base.outFeatures];
  const shared = adapterInput === x;
  const needsG = a.requiresGrad || adapterInput.requiresGrad;
  const scaled = needsG ? allocate(rows * rank) : undefined;
  if (scaled) gemm(g.data, b.data, scaled, { m: rows, n: rank, k: outF, alpha: scaling });
  const grad = (t: Tensor, fill: (out: Float32Array) => void): Tensor | null => {
    if (!t.requiresGrad) return null;
    const out = allocate(t.size);
    fill(out);
    return new Tensor(out, t.shape);
  };
  const dx = grad(x, (out) => {
    base.inputGradInto(g.data, rows, out);
    if (shared) gemm(scaled!, a.data, out, { m: rows, n: inF, k: rank, beta: 1 });
  });
  const dAdapterInput = shared
    ? null
    : grad(adapterInput, (out) => gemm(scaled!, a.data, out, { m: rows, n: inF, k: rank }));
  const dA = grad(a, (out) => gemm(scaled!, adapterInput.data, out, { m: rank, n: inF, k: rows, transA: true }));
  const dB = grad(b, (out) => gemm(g.data, low, out, { m: outF, n: rank, k: rows, transA: true, alpha: scaling }));
  return [dx, dAdapterInput, dA, dB];
}
