import { z } from "zod";
import { InputError } from "../../../errors.js";
import type { DataReader } from "../../data.js";
import { pythonStrip } from "../../extract.js";
import { splitCotPrompt } from "../../tasks/bbh.js";
import { fewshotCount, generations, greedyRequest, takeLimit } from "../../tasks/common.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiExactMatch, oiSource, PAPER_TASK_VERSION } from "./common.js";

const taskFile = z.object({ examples: z.array(z.object({ input: z.string(), target: z.string() })) });
const STOP = ["\n\n"];
const MAX_TOKENS = 512;

/**
 * open-instruct eval/bbh/run_eval.py: the cot-prompts file after its first two lines, stripped,
 * then "\n\nQ: <input>\nA:" (no "Let's think step by step." of its own: the exemplars teach it).
 */
export function paperBbhPrompt(cot: { description: string; exemplars: readonly string[] }, input: string, n: number) {
  return `${pythonStrip([cot.description, ...cot.exemplars.slice(0, n)].join("\n\n"))}\n\nQ: ${input}\nA:`;
}

/** The text between the first "the answer is " (or "The", or "|he") and the next ".", stripped; else the whole output, stripped. */
export function paperBbhExtract(output: string): string {
  const match = /[t|T]he answer is (.*?)\./.exec(output);
  return pythonStrip(match ? match[1]! : output);
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  const names = (await data.list("bbh/bbh", ".json")).map((f) => f.slice(0, -".json".length));
  if (names.length === 0)
    throw new InputError(data.path("bbh/bbh"), undefined, undefined, "no BBH task files (*.json)");
  const maxTokens = options.maxGenTokens ?? MAX_TOKENS;
  let numFewshot = 3;
  const instances: EvalInstance[] = [];
  for (const name of names) {
    const promptFile = `bbh/cot-prompts/${name}.txt`;
    const cot = splitCotPrompt(await data.text(promptFile));
    numFewshot = fewshotCount(
      "bbh",
      options.numFewshot,
      3,
      cot.exemplars.length,
      `${promptFile} holds ${cot.exemplars.length}`,
    );
    const { examples } = await data.json(`bbh/bbh/${name}.json`, taskFile);
    takeLimit(examples, options.limit).forEach((example, i) => {
      instances.push({
        id: `${name}/${i}`,
        subtask: name,
        target: example.target,
        requests: [greedyRequest(paperBbhPrompt(cot, example.input, numFewshot), STOP, maxTokens)],
        score: (responses) => {
          const prediction = paperBbhExtract(generations(responses)[0]!);
          return { metrics: { exact_match: oiExactMatch(prediction, example.target) }, extracted: prediction };
        },
      });
    });
  }
  return {
    instances,
    numFewshot,
    settings: { stop: STOP, maxTokens, temperature: 0, limitAppliesTo: "each subtask", average: "tasks equally" },
  };
}

export const paperBbhTask = {
  dimension: "reasoning",
  description:
    'BIG-Bench Hard, 3-shot CoT ending at "A:": the text after "the answer is", case and punctuation ignored; tasks averaged equally',
  harnessTask: oiSource("eval/bbh/run_eval.py", "as open-instruct"),
  versions: { current: PAPER_TASK_VERSION },
  metrics: ["exact_match"],
  subtaskMean: "equal",
  load,
} satisfies TaskDefinition;
