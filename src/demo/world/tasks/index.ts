/**
 * Question generators for the five dimensions, with gold answers that show their steps. Train and
 * test are disjoint by construction: every item has a content key (the fact asked about, the
 * arithmetic operands, the puzzle, the program) and a seeded hash of that key alone decides its split,
 * so no wording of a test item's content can land in training. One file per dimension; the shared
 * machinery is in drafting.ts.
 */
import { Rng } from "../../../engine/index.js";
import { renderAnswer } from "../format.js";
import { factIndex, type World } from "../world.js";
import { code } from "./code.js";
import { inTest, type Ctx, type Draft, type Generator } from "./drafting.js";
import {
  dimensions,
  defaultTaskOptions,
  type WorldDimension,
  type Split,
  type TaskOptions,
  type TaskSet,
  type WorldItem,
} from "./items.js";
import { knowledge } from "./knowledge.js";
import { math } from "./math.js";
import { reasoning } from "./reasoning.js";
import { truthfulness } from "./truthfulness.js";

export * from "./items.js";
export { inTest, wrongValue, digitSlip } from "./drafting.js";
export { inventedValue } from "./truthfulness.js";
export { arithSteps, type ArithStep } from "./math.js";
export { executeProgram, renderOperand, renderProgram, type TraceStep } from "./code.js";

const generators: Record<WorldDimension, Generator> = { knowledge, math, reasoning, truthfulness, code };

/** Generates train and test items for every dimension. */
export function generateTasks(world: World, options: TaskOptions = {}): TaskSet {
  const o = { ...defaultTaskOptions, ...options };
  const rng = new Rng(options.seed ?? world.seed + 1);
  const ctx: Ctx = { world, facts: factIndex(world), rng, isTest: (key) => inTest(world.seed, key, o.testFraction) };
  const out = {} as TaskSet;
  for (const dimension of dimensions) {
    const drafts = generators[dimension](ctx, o);
    out[dimension] = { train: finish(drafts.train, dimension, "train"), test: finish(drafts.test, dimension, "test") };
  }
  return out;
}

/** Every item of a task set, train then test, dimension by dimension. */
export function allItems(tasks: TaskSet): WorldItem[] {
  return dimensions.flatMap((d) => [...tasks[d].train, ...tasks[d].test]);
}

function finish(drafts: Draft[], dimension: WorldDimension, split: Split): WorldItem[] {
  return drafts.map(({ stepLines, ...d }, i) => ({
    id: `${dimension}-${split}-${String(i).padStart(4, "0")}`,
    dimension,
    split,
    key: d.key,
    prompt: d.prompt,
    answer: renderAnswer(stepLines, d.final),
    final: d.final,
    steps: stepLines,
    ...(d.choices && { choices: d.choices, labels: d.labels }),
    spec: d.spec,
  }));
}
