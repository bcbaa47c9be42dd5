import { z } from "zod";
import { InputError } from "../../../errors.js";
import type { DataReader } from "../../data.js";
import { pythonStrip } from "../../extract.js";
import { fewshotCount, generations, greedyRequest, takeLimit } from "../../tasks/common.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiExactMatch, oiSource, PAPER_TASK_VERSION } from "./common.js";
import { OI_GSM_EXEMPLARS } from "./exemplars.js";

const FILE = "gsm8k/test.jsonl";
const row = z.object({ question: z.string(), answer: z.string() });

/** The SeaPO copy stops only at a triple newline (open-instruct stops at the first newline). */
export const PAPER_GSM8K_STOP = ["\n\n\n"];
const MAX_TOKENS = 512;

/** "1,234" → "1234": open-instruct drops a comma between two digits (non-overlapping, as re.sub), on both sides. */
const dropDigitCommas = (s: string) => s.replace(/(\d),(\d)/g, "$1$2");

/**
 * open-instruct eval/gsm/run_eval.py: "Answer the following questions.", the exemplars as
 * "Question: …\nAnswer: <chain of thought>" separated by blank lines, then the question (stripped).
 */
export function paperGsm8kPrompt(question: string, numFewshot: number): string {
  if (numFewshot === 0) return `Answer the following question.\n\nQuestion: ${pythonStrip(question)}\nAnswer:`;
  const shots = OI_GSM_EXEMPLARS.slice(0, numFewshot).map((e) => `Question: ${e.question}\nAnswer: ${e.cotAnswer}`);
  return `Answer the following questions.\n\n${shots.join("\n\n")}\n\nQuestion: ${pythonStrip(question)}\nAnswer:`;
}

/** The last number anywhere in the output (no sign on integers, as the Python regex has it), else the whole output. */
export function paperGsm8kExtract(output: string): string {
  const numbers = dropDigitCommas(output).match(/[-+]?\d*\.\d+|\d+/g);
  return numbers ? numbers.at(-1)! : output;
}

/** The reference: the text after "####", stripped, commas between digits dropped. */
export function paperGsm8kReference(answer: string): string | undefined {
  const parts = answer.split("####");
  return parts.length < 2 ? undefined : dropDigitCommas(pythonStrip(parts[1]!));
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  const numFewshot = fewshotCount("gsm8k", options.numFewshot, 8, OI_GSM_EXEMPLARS.length, "open-instruct's 8");
  const maxTokens = options.maxGenTokens ?? MAX_TOKENS;
  const rows = takeLimit(await data.jsonl(FILE, row), options.limit);
  const instances = rows.map((r, i): EvalInstance => {
    const reference = paperGsm8kReference(r.answer);
    if (reference === undefined) throw new InputError(data.path(FILE), i + 1, "answer", 'no "####" final answer');
    return {
      id: String(i),
      target: reference,
      requests: [greedyRequest(paperGsm8kPrompt(r.question, numFewshot), PAPER_GSM8K_STOP, maxTokens)],
      score: (responses) => {
        const prediction = paperGsm8kExtract(generations(responses)[0]!);
        return { metrics: { exact_match: oiExactMatch(prediction, reference) }, extracted: prediction };
      },
    };
  });
  return { instances, numFewshot, settings: { stop: PAPER_GSM8K_STOP, maxTokens, temperature: 0 } };
}

export const paperGsm8kTask = {
  dimension: "math",
  description: "GSM8K, open-instruct's 8-shot CoT prompt: the last number in the output, exact match",
  harnessTask: oiSource("eval/gsm/run_eval.py", "stop only at a triple newline"),
  versions: { current: PAPER_TASK_VERSION },
  metrics: ["exact_match"],
  load,
} satisfies TaskDefinition;
