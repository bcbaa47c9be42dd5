import { InputError } from "../../errors.js";
import type { DataReader } from "../data.js";
import { pythonStrip } from "../extract.js";
import { multipleChoice } from "../metrics.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { choiceRequests, fewshotContext, fewshotCount, logliks, takeLimit } from "./common.js";

export type MmluCategory = "stem" | "humanities" | "social_sciences" | "other";

/** The 57 subjects and the category lm-evaluation-harness files each under. */
export const MMLU_SUBJECTS: Readonly<Record<string, MmluCategory>> = {
  abstract_algebra: "stem",
  anatomy: "stem",
  astronomy: "stem",
  business_ethics: "other",
  clinical_knowledge: "other",
  college_biology: "stem",
  college_chemistry: "stem",
  college_computer_science: "stem",
  college_mathematics: "stem",
  college_medicine: "other",
  college_physics: "stem",
  computer_security: "stem",
  conceptual_physics: "stem",
  econometrics: "social_sciences",
  electrical_engineering: "stem",
  elementary_mathematics: "stem",
  formal_logic: "humanities",
  global_facts: "other",
  high_school_biology: "stem",
  high_school_chemistry: "stem",
  high_school_computer_science: "stem",
  high_school_european_history: "humanities",
  high_school_geography: "social_sciences",
  high_school_government_and_politics: "social_sciences",
  high_school_macroeconomics: "social_sciences",
  high_school_mathematics: "stem",
  high_school_microeconomics: "social_sciences",
  high_school_physics: "stem",
  high_school_psychology: "social_sciences",
  high_school_statistics: "stem",
  high_school_us_history: "humanities",
  high_school_world_history: "humanities",
  human_aging: "other",
  human_sexuality: "social_sciences",
  international_law: "humanities",
  jurisprudence: "humanities",
  logical_fallacies: "humanities",
  machine_learning: "stem",
  management: "other",
  marketing: "other",
  medical_genetics: "other",
  miscellaneous: "other",
  moral_disputes: "humanities",
  moral_scenarios: "humanities",
  nutrition: "other",
  philosophy: "humanities",
  prehistory: "humanities",
  professional_accounting: "other",
  professional_law: "humanities",
  professional_medicine: "other",
  professional_psychology: "social_sciences",
  public_relations: "social_sciences",
  security_studies: "social_sciences",
  sociology: "social_sciences",
  us_foreign_policy: "social_sciences",
  virology: "other",
  world_religions: "humanities",
};

const COLUMNS = ["question", "A", "B", "C", "D", "answer"] as const;
const LETTERS = ["A", "B", "C", "D"] as const;

interface Question {
  question: string;
  options: [string, string, string, string];
  answer: number;
}

/** "<question>\nA. <a>\nB. <b>\nC. <c>\nD. <d>\nAnswer:" (the question stripped as Python strips). */
export function mmluQuestionText(q: Question): string {
  const lines = q.options.map((option, i) => `${LETTERS[i]}. ${option}`);
  return `${pythonStrip(q.question)}\n${lines.join("\n")}\nAnswer:`;
}

export function mmluDescription(subject: string): string {
  return `The following are multiple choice questions (with answers) about ${subject.replaceAll("_", " ")}.\n\n`;
}

async function readQuestions(data: DataReader, relative: string): Promise<Question[]> {
  const records = await data.csv(relative, COLUMNS);
  return records.map(({ line, fields }) => {
    const answer = LETTERS.indexOf(fields.answer!.trim() as (typeof LETTERS)[number]);
    if (answer < 0)
      throw new InputError(data.path(relative), line, "answer", `expected A, B, C or D, found "${fields.answer}"`);
    return { question: fields.question!, options: [fields.A!, fields.B!, fields.C!, fields.D!], answer };
  });
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  const files = await data.list("mmlu/test", "_test.csv");
  const subjects = files.map((name) => name.slice(0, -"_test.csv".length));
  for (const subject of subjects) {
    if (!(subject in MMLU_SUBJECTS)) {
      throw new InputError(
        data.path(`mmlu/test/${subject}_test.csv`),
        undefined,
        undefined,
        `"${subject}" is not one of the 57 MMLU subjects`,
        "remove the file or rename it",
      );
    }
  }
  const absent = Object.keys(MMLU_SUBJECTS).filter((s) => !subjects.includes(s));
  if (absent.length > 0) {
    throw new InputError(
      data.path(`mmlu/test/${absent[0]}_test.csv`),
      undefined,
      undefined,
      `data file not found (${absent.length} subject(s) missing)`,
      "MMLU needs all 57 subject files",
    );
  }
  let numFewshot = 5;
  const instances: EvalInstance[] = [];
  for (const subject of subjects) {
    const dev = await readQuestions(data, `mmlu/dev/${subject}_dev.csv`);
    numFewshot = fewshotCount("mmlu", options.numFewshot, 5, dev.length, `the ${subject} dev split has ${dev.length}`);
    // The harness's first_n sampler: the dev questions in file order.
    const exemplars = dev.slice(0, numFewshot).map((q) => ({ text: mmluQuestionText(q), target: LETTERS[q.answer]! }));
    const test = takeLimit(await readQuestions(data, `mmlu/test/${subject}_test.csv`), options.limit);
    test.forEach((q, i) => {
      const context = fewshotContext({ description: mmluDescription(subject), exemplars, text: mmluQuestionText(q) });
      instances.push({
        id: `${subject}/${i}`,
        subtask: subject,
        target: LETTERS[q.answer]!,
        requests: choiceRequests(context, LETTERS),
        score: (responses) => ({ metrics: { acc: multipleChoice(logliks(responses), LETTERS, q.answer).acc } }),
      });
    });
  }
  return {
    instances,
    numFewshot,
    settings: { fewshotSplit: "dev", sampler: "first_n", limitAppliesTo: "each subject" },
  };
}

export const mmluTask = {
  dimension: "knowledge",
  description: "MMLU, 57 subjects: 5 dev exemplars, then the letter (A–D) with the highest log-likelihood",
  harnessTask: "mmlu (default)",
  versions: { current: "1.0" },
  metrics: ["acc"],
  groupOf: (subject: string) => MMLU_SUBJECTS[subject] ?? "other",
  load,
} satisfies TaskDefinition;
