/**
 * Composites built from the primitives in `ops.ts`. None of them needs a gradient rule.
 */
import { attentionProbs } from "../fused-attention.js";
import * as ops from "../ops.js";
import { ShapeError } from "../ops.js";
import type { Rng } from "../random.js";
import { formatShape, Tensor } from "../tensor.js";

/** A [B, T] table of ids or flags: nested rows, or a flat row-major array. */
export type Grid = readonly (readonly number[])[] | ArrayLike<number>;

/** Flattens a [rows, cols] grid, checking its size; names the op on a mismatch. */
export function flattenGrid(op: string, grid: Grid, rows: number, cols: number): Float64Array {
  const isNested = grid.length > 0 && typeof grid[0] !== "number";
  const out = new Float64Array(rows * cols);
  if (isNested) {
    const nested = grid as readonly (readonly number[])[];
    if (nested.length !== rows || nested.some((row) => row.length !== cols)) {
      throw new ShapeError(
        op,
        `expected a [${rows}, ${cols}] grid, got ${nested.length} rows of lengths ${nested.map((r) => r.length).join(",")}`,
      );
    }
    nested.forEach((row, r) => out.set(row, r * cols));
  } else {
    if (grid.length !== rows * cols)
      throw new ShapeError(op, `expected ${rows * cols} values for [${rows}, ${cols}], got ${grid.length}`);
    for (let i = 0; i < grid.length; i++) out[i] = (grid as ArrayLike<number>)[i]!;
  }
  return out;
}

/** x · sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return ops.mul(x, ops.sigmoid(x));
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p).
 * The identity when p is 0 (the default everywhere in the engine).
 */
export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  if (p === 0) return x;
  if (!(p > 0 && p < 1)) throw new ShapeError("dropout", `p must be in [0, 1), got ${p}`);
  const keep = new Float32Array(x.size);
  const scale = 1 / (1 - p);
  for (let i = 0; i < keep.length; i++) keep[i] = rng.next() >= p ? scale : 0;
  return ops.mul(x, new Tensor(keep, x.shape));
}

/** Large negative instead of −∞, so a fully masked row (a left-pad query) stays finite. */
const MASKED = -1e9;

/**
 * Additive attention bias [B, 1, Tq, Tk]: 0 where query i may attend to key j, else −1e9.
 * Query i sits at key position Tk − Tq + i (earlier keys come from a KV cache); a key is visible if
 * it is not in the future and its attention-mask entry is 1.
 */
export function attentionBias(attentionMask: Grid | null, batch: number, queries: number, keys: number): Tensor {
  if (queries > keys) throw new ShapeError("attentionBias", `${queries} queries but only ${keys} keys`);
  const mask = attentionMask === null ? null : flattenGrid("attentionBias", attentionMask, batch, keys);
  const offset = keys - queries;
  const bias = new Float32Array(batch * queries * keys);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < queries; i++) {
      const row = (b * queries + i) * keys;
      for (let j = 0; j < keys; j++) {
        const visible = j <= offset + i && (mask === null || mask[b * keys + j] !== 0);
        bias[row + j] = visible ? 0 : MASKED;
      }
    }
  }
  return new Tensor(bias, [batch, 1, queries, keys]);
}

/**
 * softmax(Q·Kᵀ/√D + bias)·V with grouped-query attention.
 * q: [B, H, Tq, D]; k, v: [B, Hkv, Tk, D] with H a multiple of Hkv (query head h reads kv head
 * h / (H/Hkv), as Hugging Face's repeat_kv); bias: [B, 1, Tq, Tk]. Returns [B, H, Tq, D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor): Tensor {
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [Bk, Hkv, Tk, Dk] = k.shape as [number, number, number, number];
  const shapesAgree =
    q.ndim === 4 &&
    k.ndim === 4 &&
    v.ndim === 4 &&
    B === Bk &&
    D === Dk &&
    H % Hkv === 0 &&
    v.shape.every((d, i) => d === k.shape[i]) &&
    bias.ndim === 4 &&
    bias.shape[0] === B &&
    bias.shape[1] === 1 &&
    bias.shape[2] === Tq &&
    bias.shape[3] === Tk;
  if (!shapesAgree) {
    throw new ShapeError("attention", "expected q [B,H,Tq,D], k and v [B,Hkv,Tk,D], bias [B,1,Tq,Tk]", [
      q.shape,
      k.shape,
      v.shape,
      bias.shape,
    ]);
  }
  const G = H / Hkv;
  // Grouping the G query heads of each kv head along the rows makes GQA a plain batched matmul.
  const qg = ops.mul(q, 1 / Math.sqrt(D)).reshape([B, Hkv, G * Tq, D]);
  const probs = attentionProbs(qg, k, bias); // (B, Hkv, G·Tq, Tk)
  const y = ops.matmul(probs, v).reshape([B, H, Tq, D]); // (B, H, Tq, D)
  // A query that sees no key at all (a left-pad position) would average every value with a gradient
  // that the rounded scores do not really have; output zeros there instead. Such rows never reach a
  // real token's output or loss.
  const blind = blindRows(bias);
  return blind === null ? y : ops.mul(y, blind);
}

// Every layer reuses one bias tensor; scan it once.
const blindRowsCache = new WeakMap<Tensor, Tensor | null>();

/** [B, 1, Tq, 1] with 0 for query rows whose keys are all masked, or null when there are none. */
function blindRows(bias: Tensor): Tensor | null {
  const cached = blindRowsCache.get(bias);
  if (cached !== undefined) return cached;
  const [B, , Tq, Tk] = bias.shape as [number, number, number, number];
  const seen = new Float32Array(B * Tq);
  let anyBlind = false;
  for (let row = 0; row < B * Tq; row++) {
    let visible = false;
    for (let j = 0; j < Tk && !visible; j++) visible = bias.data[row * Tk + j]! > MASKED / 2;
    seen[row] = visible ? 1 : 0;
    anyBlind ||= !visible;
  }
  const result = anyBlind ? new Tensor(seen, [B, 1, Tq, 1]) : null;
  blindRowsCache.set(bias, result);
  return result;
}

/** x[..., idx] for one index per row of the last axis: [..., V] → [...]. */
export function pickLast(x: Tensor, indices: ArrayLike<number>): Tensor {
  const V = x.dim(-1);
  const rows = x.size / V;
  if (indices.length !== rows)
    throw new ShapeError("pickLast", `${indices.length} indices for ${rows} rows`, [x.shape]);
  const flatIds = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const idx = indices[r]!;
    if (!(Number.isInteger(idx) && idx >= 0 && idx < V))
      throw new ShapeError("pickLast", `index ${idx} at row ${r} is outside [0, ${V})`, [x.shape]);
    flatIds[r] = r * V + idx;
  }
  return ops.gather(x.reshape([x.size, 1]), flatIds).reshape(x.shape.slice(0, -1));
}

function checkLogits(op: string, logits: Tensor): [number, number, number] {
  if (logits.ndim !== 3) throw new ShapeError(op, `logits must be [B, T, V], got ${formatShape(logits.shape)}`);
  return logits.shape as [number, number, number];
}

/** Per-token log p(target) from logits [B, T, V]; targets [B, T]; masked-out targets may be anything. */
export function tokenLogprobs(logits: Tensor, targets: Grid, mask?: Grid): Tensor {
  const [B, T, V] = checkLogits("tokenLogprobs", logits);
  const ids = flattenGrid("tokenLogprobs", targets, B, T);
  const keep = mask === undefined ? null : flattenGrid("tokenLogprobs", mask, B, T);
  // Masked positions may hold -100 or a pad id; point them at token 0, their value is discarded.
  const safe = ids.map((id, i) => (keep !== null && keep[i] === 0 ? 0 : id));
  for (let i = 0; i < safe.length; i++) {
    if (!(Number.isInteger(safe[i]) && safe[i]! >= 0 && safe[i]! < V)) {
      throw new ShapeError(
        "tokenLogprobs",
        `target ${safe[i]} at [${Math.floor(i / T)}, ${i % T}] is outside the vocabulary of ${V}`,
      );
    }
  }
  return pickLast(ops.logSoftmax(logits), safe);
}

/**
 * Summed completion log-probs per sequence: Σ_t mask[b,t] · log p(targets[b,t]) → [B].
 * The mask is 1 on completion tokens and 0 on prompt and padding.
 */
export function sequenceLogprobs(logits: Tensor, targets: Grid, mask: Grid): Tensor {
  const [B, T] = checkLogits("sequenceLogprobs", logits);
  const perToken = tokenLogprobs(logits, targets, mask); // (B, T)
  const weights = new Tensor(Float32Array.from(flattenGrid("sequenceLogprobs", mask, B, T)), [B, T]);
  return ops.sum(ops.mul(perToken, weights), 1);
}

/** Mean negative log-likelihood over unmasked tokens (all tokens when mask is omitted). */
export function crossEntropy(logits: Tensor, targets: Grid, mask?: Grid): Tensor {
  const [B, T] = checkLogits("crossEntropy", logits);
  const perToken = tokenLogprobs(logits, targets, mask);
  const weights =
    mask === undefined ? new Float32Array(B * T).fill(1) : Float32Array.from(flattenGrid("crossEntropy", mask, B, T));
  const count = weights.reduce((s, w) => s + w, 0);
  if (count === 0) throw new ShapeError("crossEntropy", "the mask selects no tokens");
  return ops.mul(ops.sum(ops.mul(perToken, new Tensor(weights, [B, T]))), -1 / count);
}
