import { noGrad, ops, type LlamaModel } from "../engine/index.js";

/** One token of a scored sequence: its log-prob given everything before it, and the best alternatives. */
export interface TokenScore {
  id: number;
  /** null for the first token of the window (nothing predicts it) and for tokens before the window. */
  logprob: number | null;
  /** The `top` most likely ids at this position, best first (empty where logprob is null). */
  top: Array<{ id: number; logprob: number }>;
}

/** Rows of logits computed at once: bounds the (rows × vocabulary) buffer for long prompts and large vocabularies. */
const LOGIT_ROWS = 256;

/**
 * Teacher-forced log-probs of every token of each sequence, with the same forward as the engine's
 * scoreContinuations (right-padded batch, attention mask, final-norm hidden states gathered at the
 * scored positions, log-softmax), so a continuation's summed token log-probs equal its engine score.
 * A sequence longer than the context keeps its last `contextLength + 1` tokens, as the engine's
 * log-likelihood requests do; the tokens before get null.
 */
export function scoreTokenSequences(
  model: LlamaModel,
  sequences: readonly (readonly number[])[],
  options: { top: number; batchSize: number; contextLength: number },
): TokenScore[][] {
  const windows = sequences.map((s) => s.slice(Math.max(0, s.length - (options.contextLength + 1))));
  const order = windows.map((_, i) => i).sort((a, b) => windows[b]!.length - windows[a]!.length);
  const out = new Array<TokenScore[]>(sequences.length);
  noGrad(() => {
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      const scored = scoreBatch(
        model,
        batch.map((i) => windows[i]!),
        options.top,
      );
      batch.forEach((i, b) => {
        const skipped = sequences[i]!.length - windows[i]!.length;
        const before = sequences[i]!.slice(0, skipped).map((id) => ({ id, logprob: null, top: [] }));
        out[i] = [...before, ...scored[b]!];
      });
    }
  });
  return out;
}

function scoreBatch(model: LlamaModel, seqs: readonly (readonly number[])[], top: number): TokenScore[][] {
  const results: TokenScore[][] = seqs.map((s) => (s.length === 0 ? [] : [{ id: s[0]!, logprob: null, top: [] }]));
  const T = Math.max(...seqs.map((s) => s.length)) - 1;
  if (T < 1) return results;
  const inputs = seqs.map((s) => [...s.slice(0, -1), ...new Array<number>(T - Math.max(0, s.length - 1)).fill(0)]);
  const mask = seqs.map((s) => inputs[0]!.map((_, t) => (t < s.length - 1 ? 1 : 0)));
  const hidden = model.hiddenStates(inputs, { attentionMask: mask }).reshape([-1, model.config.hiddenSize]);
  // Row b·T + t predicts token t + 1 of sequence b.
  const rows: Array<{ b: number; target: number; row: number }> = [];
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.length - 1; t++) rows.push({ b, target: s[t + 1]!, row: b * T + t });
  });
  for (let from = 0; from < rows.length; from += LOGIT_ROWS) {
    const chunk = rows.slice(from, from + LOGIT_ROWS);
    const logprobs = ops.logSoftmax(
      model.logits(
        ops.gather(
          hidden,
          chunk.map((r) => r.row),
        ),
      ),
    );
    const V = logprobs.dim(-1);
    chunk.forEach(({ b, target }, k) => {
      const row = logprobs.data.subarray(k * V, (k + 1) * V);
      results[b]!.push({ id: target, logprob: row[target]!, top: best(row, top) });
    });
  }
  return results;
}

/** The k largest entries, best first; ties keep the lower id first. */
function best(row: Float32Array, k: number): Array<{ id: number; logprob: number }> {
  if (k <= 0) return [];
  const kept: Array<{ id: number; logprob: number }> = [];
  for (let id = 0; id < row.length; id++) {
    const logprob = row[id]!;
    if (kept.length === k && logprob <= kept[k - 1]!.logprob) continue;
    let at = kept.length;
    while (at > 0 && kept[at - 1]!.logprob < logprob) at--;
    kept.splice(at, 0, { id, logprob });
    if (kept.length > k) kept.pop();
  }
  return kept;
}
