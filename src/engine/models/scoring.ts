/**
 * Teacher-forced scoring for training and evaluation: log p(target) at chosen positions of a batch,
 * through the fused lm_head (fused-lm-head.ts). Only the positions asked for reach the vocabulary
 * (completion tokens, not the prompt), and no [B, T, V] logits are made.
 */
import { lmHeadLogprobs } from "../fused-lm-head.js";
import * as ops from "../ops.js";
import { ShapeError } from "../ops.js";
import { flattenGrid, type Grid } from "../nn/functional.js";
import { Tensor } from "../tensor.js";
import type { LlamaModel } from "./llama.js";

export interface ScorePositionsOptions {
  /** [B, T]: 1 for real tokens, 0 for padding; default all ones. */
  attentionMask?: Grid;
  /** [B, T]: the token position t predicts (the next one). */
  targets: Grid;
  /** [B, T]: 1 where a position is scored, else 0. */
  scored: Grid;
  /** [B, T]: each scored position's weight in its sequence's sum; default 1. */
  weights?: Grid;
  /** Also sum, per sequence over its scored positions, the argmax hits, entropies and mean logits. */
  stats?: boolean;
}

/** Per sequence, sums over its scored positions. */
export interface PositionScores {
  /** [B]: Σ weight · log p(target); differentiable. */
  logps: Tensor;
  /** Scored positions. */
  tokens: number[];
  /** With `stats`: Σ [target = argmax], Σ entropy (nats), Σ mean logit over the vocabulary. */
  correct?: number[];
  entropy?: number[];
  logitMean?: number[];
}

/** The [V, C] matrix logits are taken against: lm_head's weight, or the tied embedding. */
export function outputWeight(model: LlamaModel): Tensor {
  return model.lm_head?.weight ?? model.embed_tokens.weight;
}

interface Picked {
  rows: number[];
  targets: number[];
  sequence: number[];
  weight: number[];
}

function pickPositions(options: ScorePositionsOptions, batch: number, seq: number): Picked {
  const scored = flattenGrid("scorePositions scored", options.scored, batch, seq);
  const targets = flattenGrid("scorePositions targets", options.targets, batch, seq);
  const weights =
    options.weights === undefined ? null : flattenGrid("scorePositions weights", options.weights, batch, seq);
  const picked: Picked = { rows: [], targets: [], sequence: [], weight: [] };
  for (let r = 0; r < batch * seq; r++) {
    if (scored[r] === 0) continue;
    picked.rows.push(r);
    picked.targets.push(targets[r]!);
    picked.sequence.push(Math.floor(r / seq));
    picked.weight.push(weights === null ? 1 : weights[r]!);
  }
  return picked;
}

function sumBySequence(values: ArrayLike<number>, sequence: readonly number[], batch: number): number[] {
  const sums = new Array<number>(batch).fill(0);
  sequence.forEach((b, n) => (sums[b]! += values[n]!));
  return sums;
}

/** Scores the chosen positions of one forward pass over inputIds [B, T]. */
export function scorePositions(
  model: LlamaModel,
  inputIds: readonly (readonly number[])[],
  options: ScorePositionsOptions,
): PositionScores {
  const batch = inputIds.length;
  const seq = inputIds[0]?.length ?? 0;
  const picked = pickPositions(options, batch, seq);
  if (picked.rows.length === 0) throw new ShapeError("scorePositions", "no position is scored");
  const hidden = model.hiddenStates(inputIds, { attentionMask: options.attentionMask }); // (B, T, C)
  const rows = ops.gather(hidden.reshape([batch * seq, model.config.hiddenSize]), picked.rows); // (N, C)
  const want = options.stats === true;
  const result = lmHeadLogprobs(rows, outputWeight(model), picked.targets, {
    greedy: want,
    entropy: want,
    logitMean: want,
  });
  // [B, N] with each position's weight in its own sequence's row: the per-sequence sums as one product.
  const count = picked.rows.length;
  const select = new Float32Array(batch * count);
  picked.sequence.forEach((b, n) => (select[b * count + n] = picked.weight[n]!));
  const logps = ops.matmul(new Tensor(select, [batch, count]), result.logprobs.reshape([count, 1])).reshape([batch]);
  const out: PositionScores = { logps, tokens: sumBySequence(new Float32Array(count).fill(1), picked.sequence, batch) };
  if (want) {
    out.correct = sumBySequence(result.isArgmax!, picked.sequence, batch);
    out.entropy = sumBySequence(result.entropy!, picked.sequence, batch);
    out.logitMean = sumBySequence(result.logitMean!, picked.sequence, batch);
  }
  return out;
}
