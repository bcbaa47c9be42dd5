/**
 * Attention probabilities as one op: P = softmax(Q·Kᵀ + bias) per kv head, for Q the (already scaled)
 * query rows of the G heads that share the kv head.
 *
 * Composed from matmul, add and softmax, the [B, Hkv, G·Tq, Tk] scores exist three times until backward
 * (the product, the biased product and P), though backward reads only P. Fused, the product is biased
 * and normalised in place: one buffer of that size per layer instead of three. The kernels and their
 * parameters are those the composed ops call, so the results are the same to the last bit.
 */
import { backend } from "./backend.js";
import { ShapeError } from "./ops.js";
import { allocate } from "./pool.js";
import { isGradEnabled, Tensor } from "./tensor-core.js";

interface Dims {
  batch: number;
  rows: number;
  keys: number;
  depth: number;
}

const dimsOf = (q: Tensor, k: Tensor): Dims => ({
  batch: q.dim(0) * q.dim(1),
  rows: q.dim(2),
  keys: k.dim(2),
  depth: q.dim(3),
});

/** q [B, Hkv, G·Tq, D] and k [B, Hkv, Tk, D] → P [B, Hkv, G·Tq, Tk]; bias [B, 1, Tq, Tk]. */
export function attentionProbs(q: Tensor, k: Tensor, bias: Tensor): Tensor {
  const [B, Hkv, rows, D] = q.shape as [number, number, number, number];
  const [Tq, Tk] = [bias.dim(2), bias.dim(3)];
  const agree =
    q.ndim === 4 &&
    k.ndim === 4 &&
    k.dim(0) === B &&
    k.dim(1) === Hkv &&
    k.dim(2) === Tk &&
    k.dim(3) === D &&
    bias.ndim === 4 &&
    bias.dim(0) === B &&
    bias.dim(1) === 1 &&
    rows % Tq === 0;
  if (!agree)
    throw new ShapeError("attentionProbs", "expected q [B,Hkv,G·Tq,D], k [B,Hkv,Tk,D], bias [B,1,Tq,Tk]", [
      q.shape,
      k.shape,
      bias.shape,
    ]);
  const d = dimsOf(q, k);
  const shape = [B, Hkv, rows, Tk];
  const p = allocate(d.batch * rows * Tk);
  const impl = backend();
  impl.gemm(q.data, k.data, p, {
    ...{ m: rows, n: Tk, k: D, transB: true, batch: d.batch },
    ...{ strideA: rows * D, strideB: Tk * D, strideC: rows * Tk },
  });
  // Per batch item, the bias repeats along the item's heads (the shape the native elementwise kernel takes).
  const [plane, perItem] = [Tq * Tk, Hkv * rows * Tk];
  const shape2d = [perItem / plane, plane];
  for (let b = 0; b < B; b++) {
    const scores = p.subarray(b * perItem, (b + 1) * perItem);
    const itemBias = bias.data.subarray(b * plane, (b + 1) * plane);
    impl.binary("add", scores, shape2d, itemBias, [1, plane], scores, shape2d);
  }
  impl.softmax(p, p, d.batch * rows, Tk);
  const tracked = isGradEnabled() && (q.requiresGrad || k.requiresGrad);
  return new Tensor(p, shape, tracked ? { node: { op: "attentionProbs", inputs: [q, k], attrs: {} } } : {});
}

/** The gradient rule: dS = softmax′(P)·g, then dQ = dS·K and dK = dSᵀ·Q per kv head. */
export function attentionProbsBackward(g: Tensor, inputs: readonly Tensor[], out: Tensor): (Tensor | null)[] {
  const [q, k] = inputs as [Tensor, Tensor];
  const { batch, rows, keys, depth } = dimsOf(q, k);
  const impl = backend();
  const ds = allocate(out.size);
  impl.softmaxBackward(g.data, out.data, ds, batch * rows, keys);
  const dq = q.requiresGrad ? allocate(q.size) : null;
  if (dq)
    impl.gemm(ds, k.data, dq, {
      ...{ m: rows, n: depth, k: keys, batch },
      ...{ strideA: rows * keys, strideB: keys * depth, strideC: rows * depth },
    });
  const dk = k.requiresGrad ? allocate(k.size) : null;
  if (dk)
    impl.gemm(ds, q.data, dk, {
      ...{ m: keys, n: depth, k: rows, transA: true, batch },
      ...{ strideA: rows * keys, strideB: rows * depth, strideC: keys * depth },
    });
  return [dq && new Tensor(dq, q.shape), dk && new Tensor(dk, k.shape)];
}
