import { InputError } from "../../../errors.js";
import type { DataReader } from "../../data.js";
import { argmaxFirst } from "../../metrics.js";
import { choiceRequests, fewshotCount, logliks, takeLimit } from "../../tasks/common.js";
import { MMLU_SUBJECTS } from "../../tasks/mmlu.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiSource, PAPER_TASK_VERSION } from "./common.js";

const LETTERS = ["A", "B", "C", "D"] as const;
const COLUMNS = ["question", "A", "B", "C", "D", "answer"] as const;

/** pandas.read_csv's default missing-value strings: such a cell becomes NaN, which the prompt prints as "nan". */
const PANDAS_NA = new Set(
  "#N/A|#N/A N/A|#NA|-1.#IND|-1.#QNAN|-NaN|-nan|1.#IND|1.#QNAN|<NA>|N/A|NA|NULL|NaN|None|n/a|nan|null|".split("|"),
);
const pandasCell = (value: string) => (PANDAS_NA.has(value) ? "nan" : value);

interface Question {
  cells: string[];
  answer: string;
}

/** eval/mmlu/run_eval.py format_example: the question and options as read (not stripped), then "\nAnswer:". */
export function paperMmluExample(q: Question, withAnswer: boolean): string {
  const options = q.cells.slice(1).map((option, j) => `\n${LETTERS[j]}. ${option}`);
  return `${q.cells[0]}${options.join("")}\nAnswer:${withAnswer ? ` ${q.answer}\n\n` : ""}`;
}

/** gen_prompt's header: format_subject puts a space before every word, so "about" is followed by two spaces. */
export function paperMmluHeader(subject: string): string {
  const words = subject
    .split("_")
    .map((w) => ` ${w}`)
    .join("");
  return `The following are multiple choice questions (with answers) about ${words}.\n\n`;
}

export function paperMmluPrompt(subject: string, dev: readonly Question[], q: Question): string {
  return paperMmluHeader(subject) + dev.map((d) => paperMmluExample(d, true)).join("") + paperMmluExample(q, false);
}

async function readQuestions(data: DataReader, relative: string): Promise<Question[]> {
  return (await data.csv(relative, COLUMNS)).map(({ line, fields }) => {
    const answer = fields.answer!;
    if (!(LETTERS as readonly string[]).includes(answer))
      throw new InputError(data.path(relative), line, "answer", `expected A, B, C or D, found "${answer}"`);
    return { cells: COLUMNS.slice(0, 5).map((c) => pandasCell(fields[c]!)), answer };
  });
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  const subjects = (await data.list("mmlu/test", "_test.csv")).map((f) => f.slice(0, -"_test.csv".length));
  const unknown = subjects.find((s) => !(s in MMLU_SUBJECTS));
  if (unknown !== undefined)
    throw new InputError(data.path(`mmlu/test/${unknown}_test.csv`), undefined, undefined, "not an MMLU subject");
  let numFewshot = 5;
  const instances: EvalInstance[] = [];
  for (const subject of subjects) {
    const dev = await readQuestions(data, `mmlu/dev/${subject}_dev.csv`);
    numFewshot = fewshotCount("mmlu", options.numFewshot, 5, dev.length, `the ${subject} dev split has ${dev.length}`);
    const shots = dev.slice(0, numFewshot);
    const test = takeLimit(await readQuestions(data, `mmlu/test/${subject}_test.csv`), options.limit);
    test.forEach((q, i) => {
      instances.push({
        id: `${subject}/${i}`,
        subtask: subject,
        target: q.answer,
        requests: choiceRequests(paperMmluPrompt(subject, shots, q), LETTERS),
        score: (responses) => {
          const predicted = LETTERS[argmaxFirst(logliks(responses))]!;
          return { metrics: { acc: predicted === q.answer ? 1 : 0 }, extracted: predicted };
        },
      });
    });
  }
  return {
    instances,
    numFewshot,
    settings: { fewshotSplit: "dev", limitAppliesTo: "each subject", average: "examples (size-weighted subjects)" },
  };
}

export const paperMmluTask = {
  dimension: "knowledge",
  description: "MMLU, open-instruct's 5-shot prompt: the letter A–D scored highest, accuracy over all questions",
  harnessTask: oiSource("eval/mmlu/run_eval.py", "as open-instruct (5 shots)"),
  versions: { current: PAPER_TASK_VERSION },
  metrics: ["acc"],
  load,
} satisfies TaskDefinition;
