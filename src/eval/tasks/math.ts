import { z } from "zod";
import { InputError } from "../../errors.js";
import { casEquivalent } from "../cas.js";
import type { DataReader } from "../data.js";
import {
  boxedAnswer,
  hendrycksEquiv,
  hendrycksExtract,
  MINERVA_INVALID,
  minervaNormalise,
  minervaUnnormalisedAnswer,
} from "../extract.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { fewshotContext, fewshotCount, generations, greedyRequest, takeLimit } from "./common.js";
import { MINERVA_MATH_EXEMPLARS } from "./exemplars.js";

const FILE = "math500/test.jsonl";

const row = z.object({
  problem: z.string(),
  solution: z.string(),
  answer: z.string(),
  subject: z.string(),
  level: z.number().int(),
  unique_id: z.string(),
});

/** "Problem:\n<problem>\n\nSolution:" after the Minerva exemplars, each followed by " <solution>". */
export function mathPrompt(problem: string, numFewshot: number): string {
  const exemplars = MINERVA_MATH_EXEMPLARS.slice(0, numFewshot).map((e) => ({
    text: `Problem:\n${e.problem}\n\nSolution:`,
    target: e.solution,
  }));
  return fewshotContext({ exemplars, text: `Problem:\n${problem}\n\nSolution:` });
}

/**
 * The scores of one generation against the reference solution's boxed answer.
 * exact_match: the "Final Answer: The final answer is X." sentence, Minerva-normalised, equals the
 * normalised reference as a string. equiv_match: the same answer equals it as a string or is
 * mathematically equivalent by the CAS (the harness's exact_match asks sympy the second question).
 * boxed_match: the generation's last \boxed{} (or its fallbacks) equals the reference after
 * hendrycks_math's string normalisation.
 */
export function scoreMath(generation: string, referenceBoxed: string) {
  const unnormalised = minervaUnnormalisedAnswer(generation);
  const finalAnswer = minervaNormalise(unnormalised);
  const reference = minervaNormalise(referenceBoxed);
  const boxed = hendrycksExtract(generation);
  const same = finalAnswer === reference;
  return {
    metrics: {
      exact_match: same ? 1 : 0,
      equiv_match: same || (unnormalised !== MINERVA_INVALID && casEquivalent(finalAnswer, reference)) ? 1 : 0,
      boxed_match: hendrycksEquiv(boxed, referenceBoxed) ? 1 : 0,
    },
    extracted: { finalAnswer, boxed },
  };
}

export const minervaMath500Task = {
  dimension: "math",
  description:
    "MATH-500, 4-shot Minerva prompt: normalised final answer equal to the reference's boxed answer, as a string and by a CAS",
  harnessTask: "minerva_math500",
  versions: { current: "3.0" },
  metrics: ["exact_match", "equiv_match", "boxed_match"],
  async load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
    const numFewshot = fewshotCount(
      "minerva_math500",
      options.numFewshot,
      4,
      MINERVA_MATH_EXEMPLARS.length,
      "the fixed Minerva exemplars",
    );
    const stop = ["Problem:"];
    const maxTokens = options.maxGenTokens ?? 256;
    const rows = takeLimit(await data.jsonl(FILE, row), options.limit);
    const instances = rows.map((r, i): EvalInstance => {
      const reference = boxedAnswer(r.solution);
      if (reference === null)
        throw new InputError(data.path(FILE), i + 1, "solution", "the solution has no \\boxed{} answer");
      return {
        id: r.unique_id,
        target: reference,
        requests: [greedyRequest(mathPrompt(r.problem, numFewshot), stop, maxTokens)],
        score: (responses) => scoreMath(generations(responses)[0]!, reference),
      };
    });
    return { instances, numFewshot, settings: { stop, maxTokens, temperature: 0, sampler: "first_n" } };
  },
} satisfies TaskDefinition;
