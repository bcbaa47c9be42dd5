/**
 * The first two stages of `seapo demo`: the world and the base model with its held-out test items,
 * and `seapo analyze` of the base model's answers to training prompts (which drives most-common).
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type HfModel, LlamaModel, loadHfModel, Rng } from "../engine/index.js";
import { toJsonLines, writeFileAtomic } from "../io/index.js";
import { builtinErrorTypes, runAnalyze } from "../negatives/index.js";
import { BASE_RECIPE_FILE, readBaseRecipe, worldOfRecipe, type BaseRecipe } from "./base.js";
import { SeapoError } from "../errors.js";
import { evaluateOnWorld, sampleItems, type AnswerOptions } from "./evaluate.js";
import type { DemoOptions } from "./options.js";
import { splitPools, type ProtocolSplit } from "./splits.js";
import { dimensions, worldClassifier, type World, type WorldDimension, type WorldItem } from "./world/index.js";

export interface DemoSetup {
  recipe: BaseRecipe;
  world: World;
  /** Every item of one of the protocol's splits (train, validation, test), by dimension. */
  pool: (split: ProtocolSplit) => Record<WorldDimension, WorldItem[]>;
  /** The items every arm is scored on (test, or validation in the search): the same for every arm and seed. */
  testItems: WorldItem[];
  base: HfModel;
  baseModel: LlamaModel;
  answerOptions: AnswerOptions;
}

export async function loadDemoSetup(options: DemoOptions): Promise<DemoSetup> {
  const recipe = readWorldBase(options);
  const { world, tasks } = worldOfRecipe(recipe.options);
  const pools = splitPools(recipe.options.worldSeed, tasks);
  const pool = (split: ProtocolSplit) => pools[split];
  const wanted = options.testPerDimension === "all" ? Number.POSITIVE_INFINITY : options.testPerDimension;
  const scored = options.evalSplit;
  const testItems = sampleItems(pool(scored), wanted, new Rng(0));
  for (const d of dimensions) {
    const have = pools[scored][d].length;
    if (have < wanted && wanted !== Number.POSITIVE_INFINITY)
      options.log(`  ${d}: ${wanted} ${scored} items asked, the ${scored} split has ${have}: scoring all ${have}`);
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

/** The base model's recipe, which must be of the run's world version. */
function readWorldBase(options: DemoOptions): BaseRecipe {
  if (!existsSync(join(options.baseDir, BASE_RECIPE_FILE)) && options.world !== 1)
    throw new SeapoError(
      `no base model for world ${options.world} in ${options.baseDir}; ` +
        `build it with \`seapo demo build-base ${options.baseDir} --world ${options.world}\` (about 35 minutes on 2 idle cores), or give --base`,
    );
  const recipe = readBaseRecipe(options.baseDir);
  const built = recipe.options.worldVersion ?? 1;
  if (built !== options.world)
    throw new SeapoError(
      `${options.baseDir} was built on world ${built}, and the run asks for world ${options.world}; ` +
        `give --world ${built}, or a base model built with \`seapo demo build-base DIR --world ${options.world}\``,
    );
  return recipe;
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
