import { z } from "zod";
import { InputError } from "../../errors.js";
import type { DataReader } from "../data.js";
import { truthfulqaMc1, truthfulqaMc2 } from "../metrics.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { choiceRequests, fewshotCount, logliks, takeLimit } from "./common.js";
import { TRUTHFULQA_PRIMER } from "./exemplars.js";

export const TRUTHFULQA_FILE = "truthfulqa/mc_task_v0.jsonl";

const targets = z
  .object({ choices: z.array(z.string()).min(2), labels: z.array(z.union([z.literal(0), z.literal(1)])) })
  .refine((t) => t.choices.length === t.labels.length, {
    message: "choices and labels differ in length",
    path: ["labels"],
  });

const row = z.object({ question: z.string(), mc1_targets: targets, mc2_targets: targets });
type Row = z.infer<typeof row>;

/** The QA primer, then the question: "…\n\nQ: <question>\nA:". Each answer is scored as " <answer>". */
export function truthfulqaPrompt(question: string): string {
  return `${TRUTHFULQA_PRIMER}\n\nQ: ${question}\nA:`;
}

async function loadRows(data: DataReader, options: LoadOptions, task: string): Promise<Row[]> {
  fewshotCount(task, options.numFewshot, 0, 0, "it is zero-shot; the QA primer holds its examples");
  const rows = await data.jsonl(TRUTHFULQA_FILE, row);
  rows.forEach((r, i) => {
    // The harness scores MC1 with the gold answer at index 0 and MC2 with the true answers first.
    if (r.mc1_targets.labels[0] !== 1 || r.mc1_targets.labels.indexOf(1, 1) >= 0) {
      throw new InputError(
        data.path(TRUTHFULQA_FILE),
        i + 1,
        "mc1_targets.labels",
        "MC1 needs exactly one true answer, listed first",
      );
    }
    if (!r.mc2_targets.labels.includes(0)) {
      throw new InputError(
        data.path(TRUTHFULQA_FILE),
        i + 1,
        "mc2_targets.labels",
        "MC2 needs at least one false answer",
      );
    }
  });
  return takeLimit(rows, options.limit);
}

function load(which: "mc1" | "mc2") {
  return async (data: DataReader, options: LoadOptions): Promise<LoadedTask> => {
    const rows = await loadRows(data, options, `truthfulqa_${which}`);
    const instances = rows.map((r, i): EvalInstance => {
      const t = which === "mc1" ? r.mc1_targets : r.mc2_targets;
      return {
        id: String(i),
        target: t.choices[0]!,
        requests: choiceRequests(truthfulqaPrompt(r.question), t.choices),
        score: (responses) => {
          const lls = logliks(responses);
          return which === "mc1"
            ? { metrics: { acc: truthfulqaMc1(lls) } }
            : { metrics: { acc: truthfulqaMc2(lls, t.labels, options.taskVersion === "2.0" ? "2.0" : "3.0") } };
        },
      };
    });
    return { instances, numFewshot: 0, settings: {} };
  };
}

export const truthfulqaMc1Task = {
  dimension: "truthfulness",
  description: "TruthfulQA MC1: one true answer among several; correct when it has the highest log-likelihood",
  harnessTask: "truthfulqa_mc1",
  versions: { current: "2.0" },
  metrics: ["acc"],
  load: load("mc1"),
} satisfies TaskDefinition;

export const truthfulqaMc2Task = {
  dimension: "truthfulness",
  description: "TruthfulQA MC2: probability mass on the true answers, normalised over all answers",
  harnessTask: "truthfulqa_mc2",
  // 3.0 counts every answer labelled 1 as true; 2.0 took those before the first 0 (2 of 817 questions differ).
  versions: { current: "3.0", older: ["2.0"] },
  metrics: ["acc"],
  load: load("mc2"),
} satisfies TaskDefinition;
