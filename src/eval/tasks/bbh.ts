import { z } from "zod";
import { InputError } from "../../errors.js";
import type { DataReader } from "../data.js";
import { bbhExtract } from "../extract.js";
import type { EvalInstance, LoadOptions, LoadedTask, TaskDefinition } from "../types.js";
import { fewshotCount, generations, greedyRequest, takeLimit } from "./common.js";

/** The subtasks' `metadata.version`: 4.0 since harness PR #3140 (July 2025), 2.0 before the fewshot_config rework. */
const BBH_VERSIONS = { current: "4.0", older: ["2.0"] } as const;

const taskFile = z.object({ examples: z.array(z.object({ input: z.string(), target: z.string() })) });

/**
 * A cot-prompts file is a canary line, a "-----" line, then the task description and three
 * "Q: …\nA: Let's think step by step.\n… So the answer is X." exemplars separated by blank lines.
 */
export function splitCotPrompt(text: string): { description: string; exemplars: string[] } {
  const body = text.split("\n-----\n").at(-1) ?? "";
  const [description, ...shots] = body.split("\n\nQ: ");
  return { description: description ?? "", exemplars: shots.map((s) => `Q: ${s}`) };
}

const STEP = "\nA: Let's think step by step.";

/**
 * The task's CoT prompt (its first n exemplars), a blank line, then "Q: <input>\nA: Let's think step by step.\n".
 * Version 2.0 kept the cot-prompts files as they are; from 4.0 each exemplar's answer starts on the
 * line after "Let's think step by step.", which changes sports_understanding (whose file puts a space there).
 */
export function bbhPrompt(
  cot: { description: string; exemplars: readonly string[] },
  input: string,
  numFewshot: number,
  version: string = BBH_VERSIONS.current,
): string {
  const exemplars = cot.exemplars.slice(0, numFewshot);
  const shots = version === "2.0" ? exemplars : exemplars.map((e) => e.replace(`${STEP} `, `${STEP}\n`));
  const head = [cot.description, ...shots].join("\n\n");
  return `${head}\n\nQ: ${input}\nA: Let's think step by step.\n`;
}

/** What differs between the BBH tasks of the two harnesses; the files and the loop are the same. */
export interface BbhRecipe {
  /** The name the few-shot count is checked under in errors. */
  name: string;
  stop: string[];
  maxTokens: number;
  prompt(cot: { description: string; exemplars: readonly string[] }, input: string, numFewshot: number): string;
  /** The extracted answer and its exact_match against the target. */
  score(output: string, target: string): { answer: string; exactMatch: number };
}

/** Every subtask file under bbh/bbh with its cot-prompts file, as instances of one task. */
export async function loadBbh(data: DataReader, options: LoadOptions, recipe: BbhRecipe) {
  const names = (await data.list("bbh/bbh", ".json")).map((f) => f.slice(0, -".json".length));
  if (names.length === 0)
    throw new InputError(data.path("bbh/bbh"), undefined, undefined, "no BBH task files (*.json)");
  let numFewshot = 3;
  const instances: EvalInstance[] = [];
  for (const name of names) {
    const promptFile = `bbh/cot-prompts/${name}.txt`;
    const cot = splitCotPrompt(await data.text(promptFile));
    if (cot.exemplars.length === 0)
      throw new InputError(data.path(promptFile), undefined, undefined, 'no "Q: " exemplars after the ----- line');
    numFewshot = fewshotCount(
      recipe.name,
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
        requests: [greedyRequest(recipe.prompt(cot, example.input, numFewshot), recipe.stop, recipe.maxTokens)],
        score: (responses) => {
          const { answer, exactMatch } = recipe.score(generations(responses)[0]!, example.target);
          return { metrics: { exact_match: exactMatch }, extracted: answer };
        },
      });
    });
  }
  return { instances, numFewshot };
}

async function load(data: DataReader, options: LoadOptions): Promise<LoadedTask> {
  // The harness's until list, "Q" included: generation stops at the first capital Q.
  const stop = ["</s>", "Q", "\n\n"];
  const maxTokens = options.maxGenTokens ?? 1024;
  const { instances, numFewshot } = await loadBbh(data, options, {
    name: "bbh_cot_fewshot",
    stop,
    maxTokens,
    prompt: (cot, input, n) => bbhPrompt(cot, input, n, options.taskVersion),
    score: (output, target) => {
      const answer = bbhExtract(output);
      return { answer, exactMatch: answer === target ? 1 : 0 };
    },
  });
  return { instances, numFewshot, settings: { stop, maxTokens, temperature: 0, limitAppliesTo: "each subtask" } };
}

export const bbhCotFewshotTask = {
  dimension: "reasoning",
  description: 'BIG-Bench Hard, 27 tasks, 3-shot chain of thought: exact match on the text after "the answer is "',
  harnessTask: "bbh_cot_fewshot",
  versions: BBH_VERSIONS,
  metrics: ["exact_match"],
  load,
} satisfies TaskDefinition;
