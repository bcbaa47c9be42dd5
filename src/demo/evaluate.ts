/**
 * Scoring a model on the world: greedy answers to held-out items, judged by the world's checker
 * (accuracy per dimension and the error-type mix), and TruthfulQA-style MC1/MC2 on the multiple-choice
 * truthfulness items through the evaluator's own metric code.
 */
import { generate, type HfTokenizer, type LlamaModel, type Rng, scoreContinuations } from "../engine/index.js";
import { errorMixOf, type ErrorMix } from "./results.js";
import {
  checkAnswer,
  dimensions,
  mcScores,
  shuffled,
  type WorldDimension,
  type World,
  type WorldErrorType,
  type WorldItem,
} from "./world/index.js";

export interface AnswerRecord {
  item: WorldItem;
  response: string;
  correct: boolean;
  errorType: WorldErrorType | null;
}

export interface WorldScores {
  accuracy: Partial<Record<WorldDimension, number>>;
  mc1: number | undefined;
  mc2: number | undefined;
  errorMix: ErrorMix;
  answers: AnswerRecord[];
}

export interface AnswerOptions {
  maxNewTokens: number;
  batchSize: number;
  /** 0 (the default) is greedy decoding. */
  temperature?: number;
  seed?: number;
}

/** The chat-formatted prompt ids the model answers from, exactly as SFT and training format them. */
export function promptIds(tokenizer: HfTokenizer, prompt: string): number[] {
  return tokenizer.encodeChat([{ role: "user", content: prompt }], { addGenerationPrompt: true });
}

/** Answers every prompt, in batches of similar length; results in input order. */
export function answerPrompts(
  model: LlamaModel,
  tokenizer: HfTokenizer,
  prompts: readonly string[],
  options: AnswerOptions,
): string[] {
  const encoded = prompts.map((p) => promptIds(tokenizer, p));
  const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.length - encoded[b]!.length || a - b);
  const answers = new Array<string>(prompts.length);
  for (let start = 0; start < order.length; start += options.batchSize) {
    const batch = order.slice(start, start + options.batchSize);
    const generations = generate(
      model,
      batch.map((i) => encoded[i]!),
      {
        maxNewTokens: options.maxNewTokens,
        temperature: options.temperature ?? 0,
        // One seed per batch keeps sampled answers independent of how many batches came before.
        seed: (options.seed ?? 0) * 100_003 + start,
        stopTokenIds: [tokenizer.eosTokenId!],
        padTokenId: 0,
      },
    );
    batch.forEach(
      (i, b) => (answers[i] = tokenizer.decode(generations[b]!.tokens, { skipSpecialTokens: true }).trim()),
    );
  }
  return answers;
}

/** Scores a model on the given test items. */
export function evaluateOnWorld(
  model: LlamaModel,
  tokenizer: HfTokenizer,
  world: World,
  items: readonly WorldItem[],
  options: AnswerOptions,
): WorldScores {
  const responses = answerPrompts(
    model,
    tokenizer,
    items.map((i) => i.prompt),
    options,
  );
  const answers = items.map((item, i): AnswerRecord => {
    const verdict = checkAnswer(world, item, responses[i]!);
    return {
      item,
      response: responses[i]!,
      correct: verdict.correct,
      errorType: verdict.correct ? null : verdict.errorType,
    };
  });

  const accuracy: Partial<Record<WorldDimension, number>> = {};
  for (const dimension of dimensions) {
    const mine = answers.filter((a) => a.item.dimension === dimension);
    if (mine.length > 0) accuracy[dimension] = mine.filter((a) => a.correct).length / mine.length;
  }
  const errorMix: ErrorMix = errorMixOf(() => 0);
  for (const a of answers) errorMix[a.correct ? "correct" : (a.errorType ?? "correctness")] += 1 / answers.length;

  const mcItems = items.filter((i) => i.choices !== undefined);
  let mc1: number | undefined;
  let mc2: number | undefined;
  if (mcItems.length > 0) {
    const requests = mcItems.flatMap((item) => {
      const context = promptIds(tokenizer, item.prompt);
      return item.choices!.map((choice) => ({
        contextIds: context,
        continuationIds: tokenizer.encode(choice, { addSpecialTokens: false }),
      }));
    });
    const scores = scoreContinuations(model, requests, { batchSize: options.batchSize });
    let offset = 0;
    mc1 = 0;
    mc2 = 0;
    for (const item of mcItems) {
      const logliks = scores.slice(offset, offset + item.choices!.length).map((s) => s.logprob);
      offset += item.choices!.length;
      const s = mcScores(item, logliks);
      mc1 += s.mc1 / mcItems.length;
      mc2 += s.mc2 / mcItems.length;
    }
  }
  return { accuracy, mc1, mc2, errorMix, answers };
}

/** A balanced, seeded sample: up to `perDimension` items of each dimension. */
export function sampleItems(pool: Record<WorldDimension, WorldItem[]>, perDimension: number, rng: Rng): WorldItem[] {
  return dimensions.flatMap((d) => shuffled(rng, pool[d]).slice(0, perDimension));
}
