import { z } from "zod";
import type { DataReader } from "../data.js";
import { GSM8K_COT_STRICT, GSM8K_FLEXIBLE, GSM8K_STRICT, gsm8kExactMatch, regexFilter } from "../extract.js";
import { PythonRandom } from "../pyrandom.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { fewshotContext, fewshotCount, generations, greedyRequest, takeLimit } from "./common.js";
import { GSM8K_COT_EXEMPLARS } from "./exemplars.js";

const row = z.object({ question: z.string(), answer: z.string() });

/** The harness's default generation length when a task sets none. */
const DEFAULT_MAX_TOKENS = 256;

export const GSM8K_METRICS = ["exact_match,strict-match", "exact_match,flexible-extract"] as const;

function scoreGsm8k(generation: string, reference: string, strict: RegExp) {
  const strictAnswer = regexFilter(generation, strict, 0);
  const flexibleAnswer = regexFilter(generation, GSM8K_FLEXIBLE, -1);
  return {
    metrics: {
      "exact_match,strict-match": gsm8kExactMatch(strictAnswer, reference),
      "exact_match,flexible-extract": gsm8kExactMatch(flexibleAnswer, reference),
    },
    extracted: { strict: strictAnswer, flexible: flexibleAnswer },
  };
}

/** "Q: <question>\nA:" after eight fixed exemplars "Q: …\nA: … The answer is N."; greedy until "Q:". */
export function gsm8kCotPrompt(question: string, numFewshot: number): string {
  const exemplars = GSM8K_COT_EXEMPLARS.slice(0, numFewshot).map((e) => ({
    text: `Q: ${e.question}\nA:`,
    target: e.target,
  }));
  return fewshotContext({ exemplars, text: `Q: ${question}\nA:` });
}

export const gsm8kCotTask = {
  dimension: "math",
  description:
    'GSM8K, 8-shot chain of thought (Wei et al. exemplars): exact match on "The answer is N" (strict) or the last number (flexible)',
  harnessTask: "gsm8k_cot (v3.0)",
  metrics: GSM8K_METRICS,
  async load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
    const numFewshot = fewshotCount(
      "gsm8k_cot",
      options.numFewshot,
      8,
      GSM8K_COT_EXEMPLARS.length,
      "the fixed chain-of-thought exemplars",
    );
    const stop = ["Q:", "</s>", "<|im_end|>"];
    const maxTokens = options.maxGenTokens ?? DEFAULT_MAX_TOKENS;
    const rows = takeLimit(await data.jsonl("gsm8k/test.jsonl", row), options.limit);
    const instances = rows.map((r, i): EvalInstance => {
      const reference = (r.answer.split("####").at(-1) ?? "").trim();
      return {
        id: String(i),
        target: reference,
        requests: [greedyRequest(gsm8kCotPrompt(r.question, numFewshot), stop, maxTokens)],
        score: (responses) => scoreGsm8k(generations(responses)[0]!, reference, GSM8K_COT_STRICT),
      };
    });
    return { instances, numFewshot, settings: { stop, maxTokens, temperature: 0, sampler: "first_n" } };
  },
} satisfies TaskDefinition;

/** "Question: <question>\nAnswer:" after exemplars drawn from the train split with their full "#### N" answers. */
export function gsm8kPrompt(question: string, exemplars: ReadonlyArray<{ question: string; answer: string }>): string {
  return fewshotContext({
    exemplars: exemplars.map((e) => ({ text: `Question: ${e.question}\nAnswer:`, target: e.answer })),
    text: `Question: ${question}\nAnswer:`,
  });
}

export const gsm8kTask = {
  dimension: "math",
  description:
    'GSM8K, 5 train exemplars drawn by the seeded sampler: exact match on "#### N" (strict) or the last number (flexible)',
  harnessTask: "gsm8k (v3.0)",
  metrics: GSM8K_METRICS,
  async load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
    const train = await data.jsonl("gsm8k/train.jsonl", row);
    const numFewshot = fewshotCount("gsm8k", options.numFewshot, 5, train.length, "its train split");
    const stop = ["Question:", "</s>", "<|im_end|>"];
    const maxTokens = options.maxGenTokens ?? DEFAULT_MAX_TOKENS;
    const rows = takeLimit(await data.jsonl("gsm8k/test.jsonl", row), options.limit);
    // One sampler for the whole task, drawing in question order: the harness's random sampler.
    const rng = new PythonRandom(options.fewshotSeed);
    const instances = rows.map((r, i): EvalInstance => ({
      id: String(i),
      target: r.answer,
      requests: [
        greedyRequest(gsm8kPrompt(r.question, numFewshot ? rng.sample(train, numFewshot) : []), stop, maxTokens),
      ],
      // The reference is the full answer; the exact-match normalisation drops everything up to "#### ".
      score: (responses) => scoreGsm8k(generations(responses)[0]!, r.answer, GSM8K_STRICT),
    }));
    return {
      instances,
      numFewshot,
      settings: {
        stop,
        maxTokens,
        temperature: 0,
        fewshotSplit: "train",
        sampler: "random",
        fewshotSeed: options.fewshotSeed,
      },
    };
  },
} satisfies TaskDefinition;
