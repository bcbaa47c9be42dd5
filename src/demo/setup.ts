/**
 * The first two stages of `seapo demo`: the world and the base model with its held-out test items,
 * and `seapo analyze` of the base model's answers to training prompts (which drives most-common).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type HfModel, LlamaModel, loadHfModel, Rng } from "../engine/index.js";
import { toJsonLines, writeFileAtomic } from "../io/index.js";
import { builtinErrorTypes, runAnalyze } from "../negatives/index.js";
import { readBaseRecipe, type BaseRecipe } from "./base.js";
import { evaluateOnWorld, sampleItems, type AnswerOptions } from "./evaluate.js";
import type { DemoOptions } from "./options.js";
import { splitPools, type ProtocolSplit } from "./splits.js";
import {
  createWorld,
  dimensions,
  generateTasks,
  worldClassifier,
  type World,
  type WorldDimension,
  type WorldItem,
} from "./world/index.js";

export interface DemoSetup {
  recipe: BaseRecipe;
  world: World;
  /** Every item of one of the protocol's splits (train, validation, test), by dimension. */
  pool: (split: ProtocolSplit) => Record<WorldDimension, WorldItem[]>;
  /** The test items every arm is scored on: the same items for every arm and seed. */
  testItems: WorldItem[];
  base: HfModel;
  baseModel: LlamaModel;
  answerOptions: AnswerOptions;
}

export async function loadDemoSetup(options: DemoOptions): Promise<DemoSetup> {
  const recipe = readBaseRecipe(options.baseDir);
  const world = createWorld(recipe.options.worldSeed);
  const pools = splitPools(recipe.options.worldSeed, generateTasks(world));
  const pool = (split: ProtocolSplit) => pools[split];
  const testItems = sampleItems(pool("test"), options.testPerDimension, new Rng(0));
  for (const d of dimensions) {
    const have = pools.test[d].length;
    if (have < options.testPerDimension)
      options.log(
        `  ${d}: ${options.testPerDimension} test items asked, the test split has ${have}: scoring all ${have}`,
      );
  }
  const base = await loadHfModel(options.baseDir);
  const baseModel = LlamaModel.fromWeights(base.config, base.weights);
  return {
    recipe,
    world,
    pool,
    testItems,
    base,
    baseModel,
    answerOptions: { maxNewTokens: options.maxNewTokens, batchSize: 16 },
  };
}

/** The analyze folder under the run directory; its analysis.json feeds most-common. */
export const analyzeDir = (out: string) => join(out, "analyze");

/** Classifies the base model's answers to a sample of training prompts with the world's checker. */
export async function analyzeBaseErrors(setup: DemoSetup, options: DemoOptions) {
  const { world, base, baseModel } = setup;
  const items = sampleItems(setup.pool("train"), options.analyzePerDimension, new Rng(99));
  const dir = analyzeDir(options.out);
  await mkdir(dir, { recursive: true });
  const answers = evaluateOnWorld(baseModel, base.tokenizer, world, items, setup.answerOptions).answers;
  const input = join(dir, "answers.jsonl");
  writeFileAtomic(
    input,
    toJsonLines(
      answers.map((a) => ({ id: a.item.id, prompt: a.item.prompt, response: a.response, reference: a.item.answer })),
    ),
  );
  return runAnalyze({
    input,
    outDir: dir,
    classifier: worldClassifier(world, items),
    judgeName: "world-checker",
    types: [...builtinErrorTypes],
  });
}
