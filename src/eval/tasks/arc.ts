import { z } from "zod";
import { InputError } from "../../errors.js";
import type { DataReader } from "../data.js";
import { multipleChoice } from "../metrics.js";
import { PythonRandom } from "../pyrandom.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { choiceRequests, fewshotContext, fewshotCount, logliks, takeLimit } from "./common.js";

const row = z.object({
  id: z.string(),
  question: z.object({
    stem: z.string(),
    choices: z.array(z.object({ text: z.string(), label: z.string() })).min(2),
  }),
  answerKey: z.string(),
});

interface ArcQuestion {
  stem: string;
  choices: string[];
  gold: number;
}

/** "Question: <stem>\nAnswer:"; each choice is scored as " <text>". */
export function arcQuestionText(stem: string): string {
  return `Question: ${stem}\nAnswer:`;
}

async function readSplit(data: DataReader, relative: string): Promise<ArcQuestion[]> {
  const rows = await data.jsonl(relative, row);
  return rows.map((r, i) => {
    const gold = r.question.choices.findIndex((c) => c.label === r.answerKey);
    if (gold < 0) {
      const labels = r.question.choices.map((c) => c.label).join(", ");
      throw new InputError(
        data.path(relative),
        i + 1,
        "answerKey",
        `"${r.answerKey}" is not one of the choice labels (${labels})`,
      );
    }
    return { stem: r.question.stem, choices: r.question.choices.map((c) => c.text), gold };
  });
}

function arcTask(level: "Easy" | "Challenge") {
  const name = `arc_${level.toLowerCase()}`;
  const dir = `arc/ARC-${level}`;
  return {
    dimension: "knowledge",
    description: `ARC-${level}: the answer with the highest log-likelihood (acc) and per character (acc_norm)`,
    harnessTask: name,
    versions: { current: "1.0" },
    metrics: ["acc", "acc_norm"],
    async load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
      const test = takeLimit(await readSplit(data, `${dir}/ARC-${level}-Test.jsonl`), options.limit);
      const train = options.numFewshot ? await readSplit(data, `${dir}/ARC-${level}-Train.jsonl`) : [];
      const numFewshot = fewshotCount(name, options.numFewshot, 0, train.length, "its train split");
      // Exemplars come from the train split, drawn per question by the harness's seeded sampler.
      const rng = new PythonRandom(options.fewshotSeed);
      const instances = test.map((q, i): EvalInstance => {
        const exemplars = numFewshot
          ? rng.sample(train, numFewshot).map((e) => ({ text: arcQuestionText(e.stem), target: e.choices[e.gold]! }))
          : [];
        const context = fewshotContext({ exemplars, text: arcQuestionText(q.stem) });
        return {
          id: String(i),
          target: q.choices[q.gold]!,
          requests: choiceRequests(context, q.choices),
          score: (responses) => ({ metrics: multipleChoice(logliks(responses), q.choices, q.gold) }),
        };
      });
      return {
        instances,
        numFewshot,
        settings: numFewshot ? { fewshotSplit: "train", sampler: "random", fewshotSeed: options.fewshotSeed } : {},
      };
    },
  } satisfies TaskDefinition;
}

export const arcEasyTask = arcTask("Easy");
export const arcChallengeTask = arcTask("Challenge");
