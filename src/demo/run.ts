/**
 * `seapo demo`: the whole SeaPO experiment on the embedded world, read top to bottom.
 *   1. load the shipped base model and score it on the held-out test items;
 *   2. `analyze` its answers to training prompts with the world's checker (drives most-common);
 *   3. per seed and arm: build the preference data, train with `seapo train`'s loop, score the model it returns;
 *   4. aggregate into results.json (the CLI then renders report.html).
 * Every stage is timed; the per-arm work lives in its own folder so the run can be inspected.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { LlamaModel, Rng } from "../engine/index.js";
import { writeFileAtomic } from "../io/index.js";
import { parseTrainConfig, train, type TrainConfig } from "../train/index.js";
import { armResult, readCurve, type SeedScore } from "./aggregate.js";
import { armSpecs, vanillaRewardNoise, writePreferenceFiles, type ArmSpec } from "./arms.js";
import { seedDatasets, type ArmDataset, type SeedDataContext } from "./datasets.js";
import { evaluateOnWorld, sampleItems, type WorldScores } from "./evaluate.js";
import { goldAnswers, meanTokenLogprob, negativePlausibility, type Answered, type Plausibility } from "./likelihood.js";
import type { DemoOptions } from "./options.js";
import { armHyper } from "./tuned.js";
import { demoResultsSchema, RESULTS_FILE, type DemoResults, type InjectionExample } from "./results.js";
import { analyzeBaseErrors, loadDemoSetup, type DemoSetup } from "./setup.js";
import { stageTimer } from "./stages.js";
import { demoUncertainty, outcomeString, testItemsOf, verdictLines } from "./uncertainty.js";
import { dimensions, type WorldErrorType } from "./world/index.js";

export async function runDemo(options: DemoOptions): Promise<DemoResults> {
  const { log } = options;
  const { stage, timings } = stageTimer(log);
  await mkdir(options.out, { recursive: true });

  // ---- 1. world and base model
  const setup = await loadDemoSetup(options);
  const { base, baseModel, world, testItems, answerOptions } = setup;
  const baseScores = await stage("evaluate base", () =>
    evaluateOnWorld(baseModel, base.tokenizer, world, testItems, answerOptions),
  );
  // Validation items only: the held-out gold log-prob is a diagnostic, never a test-set number.
  const heldOut = goldAnswers(sampleItems(setup.pool("validation"), options.heldOutGoldPerDimension, new Rng(5)));
  const heldOutBefore = meanTokenLogprob(baseModel, base.tokenizer, heldOut);

  // ---- 2. analyze the base model's errors on training prompts
  const analysis = await stage("analyze base errors", () => analyzeBaseErrors(setup, options));
  const mostCommon = (analysis.mostCommon ?? "correctness") as WorldErrorType;
  log(`  base errors: ${JSON.stringify(analysis.counts)}; most common: ${mostCommon}`);

  // ---- 3. arms × seeds
  // all and on-policy inject with the world's rules: an LLM injector runs the paper's arms instead.
  const specs = armSpecs(options.arms === "full" && options.llmInjector ? "paper" : options.arms);
  const runs = new Map<string, SeedScore[]>(specs.map((s) => [s.name, []]));
  runs.set(
    "base",
    options.seeds.map((seed) => ({ seed, scores: baseScores, curve: [], rows: 0 })),
  );
  const examples: InjectionExample[] = [];
  const plausibility: Plausibility[] = [];
  const data: SeedDataContext = { options, setup, mostCommon, stage, examples, vanillaPairs: [] };
  for (const seed of options.seeds) {
    const trainItems = sampleItems(setup.pool("train"), options.trainPerDimension, new Rng(seed));
    const datasetFor = seedDatasets(data, seed, trainItems);
    for (const spec of specs) {
      if (spec.method === "base") continue;
      const { records, files: written } = await datasetFor(spec);
      const armDir = join(options.out, "arms", spec.name, `seed-${seed}`);
      const files = written ?? writePreferenceFiles(join(armDir, "data"), records);
      const runDir = join(armDir, "run");
      const dataFile = spec.loss === "kto" ? files.kto : spec.loss === "multi" ? files.multi! : files.dpo;
      const { scores, heldOutGold } = await stage(`seed ${seed}: ${spec.name}`, () =>
        trainAndScore(setup, options, { spec, seed, dataFile, runDir, heldOut }),
      );
      runs.get(spec.name)!.push({ seed, scores, curve: await readCurve(runDir), rows: records.length, heldOutGold });
      log(
        `  ${spec.name}: ${dimensions.map((d) => `${d} ${((scores.accuracy[d] ?? 0) * 100).toFixed(0)}%`).join(", ")}`,
      );
    }
    plausibility.push(await seedPlausibility(setup, seed, datasetFor, specs));
  }

  // ---- 4. results
  const outcomes = [...runs].flatMap(([arm, seeds]) =>
    seeds.map((r) => ({ arm, seed: r.seed, correct: outcomeString(r.scores.answers) })),
  );
  const tested = testItemsOf(testItems);
  const uncertainty = demoUncertainty(tested, dimensions, outcomes, specs);
  const results: DemoResults = demoResultsSchema.parse({
    version: 2,
    config: {
      ...options,
      log: undefined,
      llmInjector: undefined,
      injector: options.llmInjector?.name ?? "world-rules",
      baseRecipe: setup.recipe,
    },
    seeds: options.seeds,
    dimensions: [...dimensions],
    arms: specs.map((spec) => armResult(spec, runs.get(spec.name)!, heldOutBefore)),
    analysis: { answers: analysis.total, wrong: analysis.wrong, byType: analysis.counts },
    examples,
    timings,
    finishedAt: new Date().toISOString(),
    testItems: tested,
    outcomes,
    uncertainty,
    vanilla: { rewardNoise: vanillaRewardNoise(), perSeed: data.vanillaPairs },
    verdict: verdictLines(uncertainty, tested.length, options.seeds.length, options.evalSplit),
    world: { version: options.world, seed: setup.recipe.options.worldSeed },
    plausibility,
  });
  writeFileAtomic(join(options.out, RESULTS_FILE), `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

/** The base model's log-probs of the seed's mixed SeaPO negatives and of vanilla's wrong samples. */
async function seedPlausibility(
  setup: DemoSetup,
  seed: number,
  datasetFor: (spec: ArmSpec) => Promise<ArmDataset>,
  specs: readonly ArmSpec[],
): Promise<Plausibility> {
  const of = async (find: (s: ArmSpec) => boolean) => {
    const spec = specs.find(find);
    return spec === undefined ? undefined : await datasetFor(spec);
  };
  const mixed = await of((s) => s.strategy === "mixed");
  const vanilla = await of((s) => s.method === "vanilla");
  const { baseModel, base } = setup;
  return negativePlausibility(baseModel, base.tokenizer, seed, mixed?.records ?? [], vanilla?.sampledWrong ?? []);
}

interface ArmRun {
  spec: ArmSpec;
  seed: number;
  dataFile: string;
  runDir: string;
  heldOut: Answered[];
}

/** One arm and seed: `seapo train`'s loop on the arm's data, then the trained model on the test items. */
async function trainAndScore(
  setup: DemoSetup,
  options: DemoOptions,
  { spec, seed, dataFile, runDir, heldOut }: ArmRun,
): Promise<{ scores: WorldScores; heldOutGold: number | null }> {
  const config = armTrainConfig(options, spec, { seed, dataFile, runDir });
  // train() hands back the merged weights it also saved under runDir/model, so nothing is read back.
  const { model: trained } = await train(config, { log: () => {} });
  const model = LlamaModel.fromWeights(trained.config, trained.weights);
  return {
    scores: evaluateOnWorld(model, trained.tokenizer, setup.world, setup.testItems, setup.answerOptions),
    heldOutGold: meanTokenLogprob(model, trained.tokenizer, heldOut),
  };
}

/** The `seapo train` configuration of one arm and seed: the arm's tuned row, else the run's settings. */
export function armTrainConfig(
  options: DemoOptions,
  spec: ArmSpec,
  { seed, dataFile, runDir }: { seed: number; dataFile: string; runDir: string },
): TrainConfig {
  const paired = spec.loss !== "kto";
  const hyper = armHyper(options, spec.name);
  const loss = spec.loss === "kto" ? "kto" : spec.loss === "multi" ? "multi_dpo" : "sigmoid";
  return parseTrainConfig({
    model: options.baseDir,
    data: dataFile,
    out: runDir,
    // The NLL term needs pairs: the trainer cannot add it to KTO's unpaired batches.
    loss: paired && hyper.sftWeight > 0 ? `${loss},sft:${hyper.sftWeight}` : loss,
    beta: hyper.beta,
    lr: hyper.lr,
    schedule: "cosine",
    epochs: 100,
    maxSteps: hyper.steps,
    batchSize: options.batchSize,
    gradAccum: 1,
    maxLength: 512,
    seed,
    logEvery: 1,
    saveEvery: 1_000_000,
    skipInvalid: true,
    saveAdapter: false,
    saveMerged: true,
    ...(hyper.loraRank !== 8 && { lora: { rank: hyper.loraRank, alpha: 2 * hyper.loraRank } }),
  });
}
