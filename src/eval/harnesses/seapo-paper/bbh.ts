import type { DataReader } from "../../data.js";
import { pythonStrip } from "../../extract.js";
import { loadBbh } from "../../tasks/bbh.js";
import type { LoadOptions, LoadedTask, TaskDefinition } from "../../types.js";
import { oiExactMatch, oiSource, PAPER_TASK_VERSION } from "./common.js";

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
  const maxTokens = options.maxGenTokens ?? MAX_TOKENS;
  const { instances, numFewshot } = await loadBbh(data, options, {
    name: "bbh",
    stop: STOP,
    maxTokens,
    prompt: paperBbhPrompt,
    score: (output, target) => {
      const answer = paperBbhExtract(output);
      return { answer, exactMatch: oiExactMatch(answer, target) };
    },
  });
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
