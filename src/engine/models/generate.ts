/**
 * Inference without the tape: batched sampling with a KV cache, and teacher-forced scoring of
 * continuations (lm-evaluation-harness's loglikelihood: summed log-prob and "is greedy").
 */
import { lmHeadLogprobs } from "../fused-lm-head.js";
import * as ops from "../ops.js";
import { Rng } from "../random.js";
import { noGrad } from "../tensor.js";
import { DecodeSession, decodeSupported } from "./decode.js";
import type { LlamaModel } from "./llama.js";
import { outputWeight } from "./scoring.js";

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
}

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed?: number;
  /** Generation of a sequence ends at any of these (the stop token is not included in the output). */
  stopTokenIds?: readonly number[];
  /** Id fed for left padding and after a sequence stops; never attended to (default 0). */
  padTokenId?: number;
  /**
   * Called with each new token of prompt `row` as it is drawn (stop tokens excluded); returning true
   * ends that row there, with finish reason "stop" (the token is kept). For streaming and stop strings.
   */
  onToken?: (row: number, token: number) => boolean | void;
  /** Run every step through the Tensor forward instead of decode.ts's buffers (tests compare the two). */
  tensorDecode?: boolean;
}

export interface Generation {
  tokens: number[];
  finishReason: "stop" | "length";
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

/** Draws one token id from a row of logits. */
export function sampleToken(logits: Float32Array, options: SamplingOptions, rng: Rng): number {
  const temperature = options.temperature ?? 1;
  if (temperature === 0) return argmax(logits);
  if (!(temperature > 0)) throw new Error(`sampling: temperature must be ≥ 0, got ${temperature}`);
  const V = logits.length;
  const topK = options.topK && options.topK > 0 ? Math.min(options.topK, V) : V;
  const topP = options.topP ?? 1;
  // Candidates in decreasing logit order; ties keep the lower id first.
  const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const kept = order.slice(0, topK);
  const max = logits[kept[0]!]!;
  const weights = kept.map((j) => Math.exp((logits[j]! - max) / temperature));
  let total = weights.reduce((s, w) => s + w, 0);
  if (topP < 1) {
    let cumulative = 0;
    let cut = weights.length;
    for (let i = 0; i < weights.length; i++) {
      cumulative += weights[i]! / total;
      if (cumulative >= topP) {
        cut = i + 1;
        break;
      }
    }
    weights.length = cut;
    kept.length = cut;
    total = weights.reduce((s, w) => s + w, 0);
  }
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i]!;
    if (u < 0) return kept[i]!;
  }
  return kept[kept.length - 1]!;
}

/**
 * Continues each prompt, batched: prompts are left-padded to a common length, prefilled once, then
 * one token per step is fed through the KV cache. Returns the new tokens per prompt.
 */
export function generate(
  model: LlamaModel,
  promptIds: readonly (readonly number[])[],
  options: GenerateOptions,
): Generation[] {
  const B = promptIds.length;
  if (B === 0) return [];
  if (promptIds.some((p) => p.length === 0)) throw new Error("generate: every prompt needs at least one token");
  const pad = options.padTokenId ?? 0;
  const stop = new Set(options.stopTokenIds ?? []);
  const rng = new Rng(options.seed ?? 0);
  const longest = Math.max(...promptIds.map((p) => p.length));
  const mask = promptIds.map((p) => [
    ...new Array<number>(longest - p.length).fill(0),
    ...new Array<number>(p.length).fill(1),
  ]);
  let input = promptIds.map((p) => [...new Array<number>(longest - p.length).fill(pad), ...p]);
  const results: Generation[] = promptIds.map(() => ({ tokens: [], finishReason: "length" }));
  const done = new Array<boolean>(B).fill(false);
  const cache = model.newCache();

  const V = model.config.vocabSize;
  let session: DecodeSession | undefined;
  return noGrad(() => {
    for (let step = 0; step < options.maxNewTokens; step++) {
      let logits: Float32Array; // (B, V)
      if (session) logits = session.step(input.map((row) => row[0]!));
      else {
        logits = model.forward(input, { attentionMask: mask, cache, lastOnly: true }).data;
        if (!options.tensorDecode && decodeSupported(model)) {
          const lengths = promptIds.map((p) => p.length);
          const padding = lengths.map((n) => longest - n);
          session = new DecodeSession(model, cache, B, padding, lengths, options.maxNewTokens);
        }
      }
      const next: number[] = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          next.push(pad);
          continue;
        }
        const token = sampleToken(logits.subarray(b * V, (b + 1) * V), options, rng);
        if (stop.has(token)) {
          done[b] = true;
          results[b]!.finishReason = "stop";
        } else {
          results[b]!.tokens.push(token);
          if (options.onToken?.(b, token) === true) {
            done[b] = true;
            results[b]!.finishReason = "stop";
          }
        }
        next.push(token);
      }
      if (done.every(Boolean)) break;
      input = next.map((t) => [t]);
      mask.forEach((row) => row.push(1));
    }
    return results;
  });
}

export interface ContinuationRequest {
  /** Must hold at least one token (the first continuation token needs something to predict it). */
  contextIds: readonly number[];
  continuationIds: readonly number[];
}

export interface ContinuationScore {
  /** Σ log p(continuation token | everything before it), natural log. */
  logprob: number;
  /** Every continuation token is the argmax of its distribution. */
  isGreedy: boolean;
}

/**
 * Teacher-forced scores of continuations, `batchSize` requests per forward (right-padded). Logits are
 * computed only at the positions that predict continuation tokens.
 */
export function scoreContinuations(
  model: LlamaModel,
  requests: readonly ContinuationRequest[],
  options: { batchSize?: number } = {},
): ContinuationScore[] {
  const batchSize = options.batchSize ?? 8;
  requests.forEach((r, i) => {
    if (r.contextIds.length === 0) throw new Error(`scoreContinuations: request ${i} has an empty context`);
    if (r.continuationIds.length === 0) throw new Error(`scoreContinuations: request ${i} has an empty continuation`);
  });
  // Longest first, so each batch holds sequences of similar length.
  const order = requests.map((_, i) => i).sort((a, b) => total(requests[b]!) - total(requests[a]!));
  const scores = new Array<ContinuationScore>(requests.length);
  noGrad(() => {
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      const seqs = batch.map((i) => [...requests[i]!.contextIds, ...requests[i]!.continuationIds]);
      const T = Math.max(...seqs.map((s) => s.length)) - 1;
      const inputs = seqs.map((s) => [...s.slice(0, -1), ...new Array<number>(T - (s.length - 1)).fill(0)]);
      const mask = seqs.map((s) => inputs[0]!.map((_, t) => (t < s.length - 1 ? 1 : 0)));
      const hidden = model.hiddenStates(inputs, { attentionMask: mask }); // (B, T, C)
      // Rows b·T + t whose next token is a continuation token.
      const rows: number[] = [];
      const targets: number[] = [];
      batch.forEach((i, b) => {
        const context = requests[i]!.contextIds.length;
        for (let t = context - 1; t < seqs[b]!.length - 1; t++) {
          rows.push(b * T + t);
          targets.push(seqs[b]![t + 1]!);
        }
      });
      const picked = ops.gather(hidden.reshape([-1, model.config.hiddenSize]), rows); // (N, C)
      // The lm_head fused with log-softmax, chunked: never the (N, V) logits at once.
      const { logprobs, isArgmax } = lmHeadLogprobs(picked, outputWeight(model), targets, { greedy: true });
      let row = 0;
      batch.forEach((i) => {
        let logprob = 0;
        let isGreedy = true;
        for (let c = 0; c < requests[i]!.continuationIds.length; c++, row++) {
          logprob += logprobs.data[row]!;
          if (isArgmax![row] === 0) isGreedy = false;
        }
        scores[i] = { logprob, isGreedy };
      });
    }
  });
  return scores;
}

function total(r: ContinuationRequest): number {
  return r.contextIds.length + r.continuationIds.length;
}
