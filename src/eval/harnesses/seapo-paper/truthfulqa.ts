import { InputError } from "../../../errors.js";
import { parseCsv, type DataReader } from "../../data.js";
import { pythonStrip } from "../../extract.js";
import { truthfulqaMc2 } from "../../metrics.js";
import { choiceRequests, fewshotCount, logliks, takeLimit } from "../../tasks/common.js";
import { truthfulqaPrompt } from "../../tasks/truthfulqa.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiSource, PAPER_TASK_VERSION } from "./common.js";

export const PAPER_TRUTHFULQA_FILE = "truthfulqa/TruthfulQA.csv";
export const PAPER_TRUTHFULQA_DATA_NOTE =
  "answer sets from the TruthfulQA.csv in the data folder; the paper read the CSV of its day, which may differ";

/** TruthfulQA's split_multi_answer: ";"-separated, each stripped, empty ones dropped, a "." added where missing. */
export function splitMultiAnswer(answers: string): string[] {
  return pythonStrip(answers)
    .split(";")
    .map(pythonStrip)
    .filter((a) => a.length > 0)
    .map((a) => (a.endsWith(".") ? a : `${a}.`));
}

/** TruthfulQA's format_best: stripped, with a closing ".". */
export function formatBest(best: string): string {
  const b = pythonStrip(best);
  return b.endsWith(".") ? b : `${b}.`;
}

export interface PaperTruthfulqaRow {
  question: string;
  best: string;
  correct: string[];
  incorrect: string[];
}

/** MC1, strict: the best answer must score above every false answer; a tie counts as wrong. */
export function paperMc1(scoresTrue: readonly number[], scoresFalse: readonly number[], bestIndex: number): number {
  return scoresTrue[bestIndex]! > Math.max(...scoresFalse) ? 1 : 0;
}

const COLUMNS = ["Question", "Best Answer", "Correct Answers", "Incorrect Answers"] as const;

/** The CSV's rows with their answer sets; rows without incorrect answers are skipped (open-instruct warns and skips). */
export async function readTruthfulqaCsv(data: DataReader): Promise<{ rows: PaperTruthfulqaRow[]; skipped: number[] }> {
  const file = data.path(PAPER_TRUTHFULQA_FILE);
  const [header, ...records] = parseCsv((await data.text(PAPER_TRUTHFULQA_FILE)).replace(/^\uFEFF/, ""));
  const at = COLUMNS.map((name) => {
    const i = header?.fields.indexOf(name) ?? -1;
    if (i < 0) throw new InputError(file, 1, name, `no "${name}" column in the header`);
    return i;
  });
  const rows: PaperTruthfulqaRow[] = [];
  const skipped: number[] = [];
  for (const { line, fields } of records) {
    const [question, best, correct, incorrect] = at.map((i) => fields[i] ?? "") as [string, string, string, string];
    if (pythonStrip(incorrect) === "") {
      skipped.push(line);
      continue;
    }
    const row = {
      question,
      best: formatBest(best),
      correct: splitMultiAnswer(correct),
      incorrect: splitMultiAnswer(incorrect),
    };
    if (!row.correct.includes(row.best))
      throw new InputError(file, line, "Best Answer", `"${row.best}" is not among the correct answers`);
    rows.push(row);
  }
  return { rows, skipped };
}

function makeTask(metric: "mc1" | "mc2", harnessTask: string) {
  async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
    fewshotCount(`truthfulqa_${metric}`, options.numFewshot, 0, 0, "it is zero-shot; the QA primer holds its examples");
    const { rows, skipped } = await readTruthfulqaCsv(data);
    const instances = takeLimit(rows, options.limit).map((r, i): EvalInstance => {
      const choices = [...r.correct, ...r.incorrect];
      return {
        id: String(i),
        target: r.best,
        requests: choiceRequests(truthfulqaPrompt(r.question), choices),
        score: (responses) => {
          const scores = logliks(responses);
          const labels = choices.map((_, j) => (j < r.correct.length ? 1 : 0));
          const value =
            metric === "mc1"
              ? paperMc1(scores.slice(0, r.correct.length), scores.slice(r.correct.length), r.correct.indexOf(r.best))
              : truthfulqaMc2(scores, labels);
          return { metrics: { [metric]: value } };
        },
      };
    });
    return { instances, numFewshot: 0, settings: { data: PAPER_TRUTHFULQA_DATA_NOTE, skippedCsvLines: skipped } };
  }
  return {
    dimension: "truthfulness",
    description:
      metric === "mc1"
        ? "TruthfulQA MC1 from the CSV: the best answer must out-score every false one (ties lose)"
        : "TruthfulQA MC2 from the CSV: probability mass of the true answers",
    harnessTask,
    versions: { current: PAPER_TASK_VERSION },
    metrics: [metric],
    load,
  } satisfies TaskDefinition;
}

const SOURCE = oiSource("eval/truthfulqa/run_eval.py (run_hf_model_mc, metrics.MC_calcs)", "as open-instruct");
export const paperTruthfulqaMc1Task = makeTask("mc1", SOURCE);
export const paperTruthfulqaMc2Task = makeTask("mc2", SOURCE);
