import { z } from "zod";
import type { DataReader } from "../data.js";
import {
  GSM8K_COT_STRICT,
  GSM8K_FLEXIBLE,
  GSM8K_STRICT,
  gsm8kExactMatch,
  pythonStrip,
  regexFilter,
} from "../extract.js";
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

/** What sets the two GSM8K tasks apart; the test rows, the greedy request and the scoring are shared. */
interface Gsm8kVariant {
  description: string;
  harnessTask: string;
  /** Starts each question in the prompt; the generation stops at it. */
  questionMarker: string;
  strict: RegExp;
  /** The gold answer as scored and logged. */
  reference(answer: string): string;
  /** The exemplar count, a prompt builder (called in question order) and the settings it adds. */
  fewshot(
    data: DataReader,
    options: LoadOptions,
  ): Promise<{ numFewshot: number; prompt(question: string): string; settings: Record<string, unknown> }>;
}

function gsm8kDefinition(variant: Gsm8kVariant) {
  return {
    dimension: "math",
    description: variant.description,
    harnessTask: variant.harnessTask,
    versions: { current: "3.0" },
    metrics: GSM8K_METRICS,
    async load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
      const { numFewshot, prompt, settings } = await variant.fewshot(data, options);
      const stop = [variant.questionMarker, "</s>", "<|im_end|>"];
      const maxTokens = options.maxGenTokens ?? DEFAULT_MAX_TOKENS;
      const rows = takeLimit(await data.jsonl("gsm8k/test.jsonl", row), options.limit);
      const instances = rows.map((r, i): EvalInstance => {
        const reference = variant.reference(r.answer);
        return {
          id: String(i),
          target: reference,
          requests: [greedyRequest(prompt(r.question), stop, maxTokens)],
          score: (responses) => scoreGsm8k(generations(responses)[0]!, reference, variant.strict),
        };
      });
      return { instances, numFewshot, settings: { stop, maxTokens, temperature: 0, ...settings } };
    },
  } satisfies TaskDefinition;
}

/** "Q: <question>\nA:" after eight fixed exemplars "Q: …\nA: … The answer is N."; greedy until "Q:". */
export function gsm8kCotPrompt(question: string, numFewshot: number): string {
  const exemplars = GSM8K_COT_EXEMPLARS.slice(0, numFewshot).map((e) => ({
    text: `Q: ${e.question}\nA:`,
    target: e.target,
  }));
  return fewshotContext({ exemplars, text: `Q: ${question}\nA:` });
}

export const gsm8kCotTask = gsm8kDefinition({
  description:
    'GSM8K, 8-shot chain of thought (Wei et al. exemplars): exact match on "The answer is N" (strict) or the last number (flexible)',
  harnessTask: "gsm8k_cot",
  questionMarker: "Q:",
  strict: GSM8K_COT_STRICT,
  reference: (answer) => pythonStrip(answer.split("####").at(-1) ?? ""),
  async fewshot(_data, options) {
    const numFewshot = fewshotCount(
      "gsm8k_cot",
      options.numFewshot,
      8,
      GSM8K_COT_EXEMPLARS.length,
      "the fixed chain-of-thought exemplars",
    );
    return { numFewshot, prompt: (question) => gsm8kCotPrompt(question, numFewshot), settings: { sampler: "first_n" } };
  },
});

/** "Question: <question>\nAnswer:" after exemplars drawn from the train split with their full "#### N" answers. */
export function gsm8kPrompt(question: string, exemplars: ReadonlyArray<{ question: string; answer: string }>): string {
  return fewshotContext({
    exemplars: exemplars.map((e) => ({ text: `Question: ${e.question}\nAnswer:`, target: e.answer })),
    text: `Question: ${question}\nAnswer:`,
  });
}

export const gsm8kTask = gsm8kDefinition({
  description:
    'GSM8K, 5 train exemplars drawn by the seeded sampler: exact match on "#### N" (strict) or the last number (flexible)',
  harnessTask: "gsm8k",
  questionMarker: "Question:",
  strict: GSM8K_STRICT,
  // The reference is the full answer; the exact-match normalisation drops everything up to "#### ".
  reference: (answer) => answer,
  async fewshot(data, options) {
    const train = await data.jsonl("gsm8k/train.jsonl", row);
    const numFewshot = fewshotCount("gsm8k", options.numFewshot, 5, train.length, "its train split");
    // One sampler for the whole task, drawing in question order: the harness's random sampler.
    const rng = new PythonRandom(options.fewshotSeed);
    return {
      numFewshot,
      prompt: (question) => gsm8kPrompt(question, numFewshot ? rng.sample(train, numFewshot) : []),
      settings: { fewshotSplit: "train", sampler: "random", fewshotSeed: options.fewshotSeed },
    };
  },
});
