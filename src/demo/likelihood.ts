/**
 * Two of issue 14's measurements, both as a model's mean per-token log-prob of answers to prompts
 * (the answer's tokens and its end token, after the chat-formatted prompt, as SFT scores them):
 *   held-out gold   the gold answers of validation items, before and after an arm's training: a fall
 *                   while the preference margin grows is likelihood displacement;
 *   plausibility    the base model's log-prob of SeaPO's injected negatives against its own sampled
 *                   wrong answers: a negative the model would never write teaches it little.
 */
import { type HfTokenizer, type LlamaModel, scoreContinuations } from "../engine/index.js";
import type { NegativeRecord } from "../data/index.js";
import { promptIds } from "./evaluate.js";
import type { WorldItem } from "./world/index.js";

export interface Answered {
  prompt: string;
  text: string;
}

/** Mean over answers of (Σ token log-probs) / tokens; null for no answers. */
export function meanTokenLogprob(
  model: LlamaModel,
  tokenizer: HfTokenizer,
  answers: readonly Answered[],
): number | null {
  if (answers.length === 0) return null;
  const requests = answers.map((a) => ({
    contextIds: promptIds(tokenizer, a.prompt),
    continuationIds: [...tokenizer.encode(a.text, { addSpecialTokens: false }), tokenizer.eosTokenId!],
  }));
  const scores = scoreContinuations(model, requests, { batchSize: 16 });
  return scores.reduce((s, x, i) => s + x.logprob / requests[i]!.continuationIds.length, 0) / answers.length;
}

/** The gold answers of held-out items. */
export const goldAnswers = (items: readonly WorldItem[]): Answered[] =>
  items.map((i) => ({ prompt: i.prompt, text: i.answer }));

/** A mean per-token log-prob (null when there was nothing to score) and how many answers it averages. */
export interface ScoredSet {
  mean: number | null;
  n: number;
}

/** What the base model thinks of one seed's negatives. */
export interface Plausibility {
  seed: number;
  /** The gold answers of the same prompts: the scale the others are read against. */
  gold: ScoredSet;
  /** SeaPO's injected negatives (the mixed strategy's), all types and per type. */
  seapo: ScoredSet;
  seapoByType: Record<string, ScoredSet>;
  /** The base model's own sampled answers (vanilla's samples) that the checker judged wrong. */
  sampledWrong: ScoredSet;
}

export function negativePlausibility(
  model: LlamaModel,
  tokenizer: HfTokenizer,
  seed: number,
  seapo: readonly NegativeRecord[],
  sampledWrong: readonly Answered[],
): Plausibility {
  const score = (answers: readonly Answered[]): ScoredSet => ({
    mean: meanTokenLogprob(model, tokenizer, answers),
    n: answers.length,
  });
  const negatives = (records: readonly NegativeRecord[]) =>
    records.map((r) => ({ prompt: r.prompt, text: r.rejected }));
  const types = [...new Set(seapo.map((r) => r.errorType))].sort();
  return {
    seed,
    gold: score(seapo.map((r) => ({ prompt: r.prompt, text: r.chosen }))),
    seapo: score(negatives(seapo)),
    seapoByType: Object.fromEntries(types.map((t) => [t, score(negatives(seapo.filter((r) => r.errorType === t)))])),
    sampledWrong: score(sampledWrong),
  };
}
