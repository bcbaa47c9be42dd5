import { z } from "zod";
import { InputError } from "../../../errors.js";
import type { DataReader } from "../../data.js";
import { hendrycksEquiv, minervaNormalise, pythonStrip } from "../../extract.js";
import { fewshotCount, generations, greedyRequest, takeLimit } from "../../tasks/common.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiSource, PAPER_TASK_VERSION } from "./common.js";
import { OI_MATH_EXEMPLARS } from "./exemplars.js";

/** Full MATH (5,000 problems) is not in the data folder; MATH-500 runs with the paper's prompt and scoring. */
const FILE = "math500/test.jsonl";
export const PAPER_MATH_DATA_NOTE =
  "MATH-500 (500 of the 5,000 MATH test problems): the paper scored the full MATH test set, which this data folder lacks";

const row = z.object({ problem: z.string(), solution: z.string(), unique_id: z.string() });

const MAX_TOKENS = 1024;
/**
 * open-instruct also stops at "\n"; with 1,024 new tokens and boxed scoring the SeaPO copy needs
 * the whole multi-line solution, so only the next "Problem:" ends it (our reading; the release is not here).
 */
export const PAPER_MATH_STOP = ["Problem:"];

/**
 * open-instruct eval/MATH/run_eval.py (vLLM path): each exemplar as "Problem:\n<q>\n\nSolution:" and
 * "<solution>\nFinal Answer: The final answer is $<a>$. I hope it is correct." on the next line,
 * exemplars separated by blank lines, then "\n\nProblem:\n<question>\n\nSolution:\n".
 */
export function paperMathPrompt(problem: string, numFewshot: number): string {
  const shots = OI_MATH_EXEMPLARS.slice(0, numFewshot).map(
    (e) =>
      `Problem:\n${e.question}\n\nSolution:\n${e.cotAnswer}\nFinal Answer: The final answer is $${e.shortAnswer}$. I hope it is correct.`,
  );
  return `${shots.join("\n\n")}\n\nProblem:\n${pythonStrip(problem)}\n\nSolution:\n`;
}

/**
 * eval/MATH/utilities.py: the last "\boxed" (else "\fbox") up to its balanced closing brace, then
 * the content of a "\boxed{…}"; "" when there is none, it never closes, or it is an \fbox.
 */
export function oiBoxedContent(text: string): string {
  let idx = text.lastIndexOf("\\boxed");
  if (idx < 0) idx = text.lastIndexOf("\\fbox");
  if (idx < 0) return "";
  let open = 0;
  for (let i = idx; i < text.length; i++) {
    if (text[i] === "{") open++;
    if (text[i] === "}" && --open === 0) {
      const boxed = text.slice(idx, i + 1);
      return boxed.startsWith("\\boxed{") ? boxed.slice("\\boxed{".length, -1) : "";
    }
  }
  return "";
}

/** The normalised last boxed answer of a text (the reference solution or the model's output). */
export function paperMathAnswer(text: string): string {
  return minervaNormalise(oiBoxedContent(text));
}

/** Correct when the output's last boxed answer equals the reference's after hendrycks strip_string. */
export function scorePaperMath(output: string, reference: string) {
  const prediction = paperMathAnswer(output);
  return { metrics: { accuracy: hendrycksEquiv(prediction, reference) ? 1 : 0 }, extracted: prediction };
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  const numFewshot = fewshotCount("math", options.numFewshot, 4, OI_MATH_EXEMPLARS.length, "open-instruct's 4");
  const maxTokens = options.maxGenTokens ?? MAX_TOKENS;
  const rows = takeLimit(await data.jsonl(FILE, row), options.limit);
  const instances = rows.map((r, i): EvalInstance => {
    if (oiBoxedContent(r.solution) === "")
      throw new InputError(data.path(FILE), i + 1, "solution", "the solution has no \\boxed{} answer");
    const reference = paperMathAnswer(r.solution);
    return {
      id: r.unique_id,
      target: reference,
      requests: [greedyRequest(paperMathPrompt(r.problem, numFewshot), PAPER_MATH_STOP, maxTokens)],
      score: (responses) => scorePaperMath(generations(responses)[0]!, reference),
    };
  });
  return {
    instances,
    numFewshot,
    settings: { stop: PAPER_MATH_STOP, maxTokens, temperature: 0, data: PAPER_MATH_DATA_NOTE },
  };
}

export const paperMathTask = {
  dimension: "math",
  description: "MATH-500 (not full MATH), open-instruct's 4-shot prompt: the last \\boxed{} answer, accuracy",
  harnessTask: oiSource("eval/MATH/run_eval.py", "1,024 new tokens, scored on the last \\boxed{}"),
  versions: { current: PAPER_TASK_VERSION },
  metrics: ["accuracy"],
  load,
} satisfies TaskDefinition;
