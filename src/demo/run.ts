/**
 * `seapo demo`: the whole SeaPO experiment on the embedded world, read top to bottom.
 *   1. load the shipped base model and score it on the held-out test items;
 *   2. `analyze` its answers to training prompts with the world's checker (drives most-common);
 *   3. per seed and arm: build the preference data, train with `seapo train`'s loop, score again;
 *   4. aggregate into results.json and render report.html.
 * Every stage is timed; the per-arm work lives in its own folder so the run can be inspected.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaModel, Rng } from "../engine/index.js";
import { loadHfModel, type HfModel } from "../engine/io/index.js";
import { SeapoError } from "../errors.js";
import { builtinErrorTypes } from "../negatives/index.js";
import { runAnalyze } from "../negatives/analyze.js";
import { METRICS_FILE, parseTrainConfig, train } from "../train/index.js";
import { BASE_RECIPE_FILE } from "./base.js";
import { armSpecs, llmSeapoDataset, seapoRecords, vanillaRecords, writePreferenceFiles, type ArmSpec } from "./arms.js";
import type { ModelFromOptions } from "../llm/options.js";
import { evaluateOnWorld, sampleItems, type WorldScores } from "./evaluate.js";
import {
  demoResultsSchema,
  errorMixOf,
  RESULTS_FILE,
  type ArmResult,
  type DemoResults,
  type ErrorMix,
  type InjectionExample,
  type Spread,
} from "./results.js";
import {
  createWorld,
  dimensions,
  generateTasks,
  worldClassifier,
  worldErrorTypes,
  type WorldErrorType,
  type WorldItem,
} from "./world/index.js";
import type { NegativeRecord } from "../data/types.js";
import { readRecords, writeFileAtomic } from "../io/index.js";

/** The shipped base model, relative to the package root (dist/demo/ → ../../assets/…). */
export const SHIPPED_BASE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../assets/demo/base-model");

export interface DemoOptions {
  out: string;
  quick: boolean;
  seeds: number[];
  /** A base model folder built by `seapo demo build-base` (default: the shipped one). */
  baseDir: string;
  /** Training prompts per dimension and seed. */
  trainPerDimension: number;
  /** Held-out test items per dimension (the same for every arm). */
  testPerDimension: number;
  /** Prompts per dimension whose base answers `analyze` classifies. */
  analyzePerDimension: number;
  steps: number;
  batchSize: number;
  lr: number;
  beta: number;
  maxNewTokens: number;
  /** `--injector llm`: SeaPO negatives come from this LLM through `seapo inject`; the world's rules otherwise. */
  llmInjector?: ModelFromOptions;
  log: (line: string) => void;
}

export function defaultDemoOptions(quick: boolean): Omit<DemoOptions, "out" | "log"> {
  return {
    quick,
    seeds: quick ? [1] : [1, 2, 3],
    baseDir: SHIPPED_BASE_DIR,
    trainPerDimension: quick ? 24 : 48,
    testPerDimension: quick ? 24 : 60,
    analyzePerDimension: quick ? 12 : 30,
    steps: 30,
    batchSize: 8,
    lr: 5e-3,
    beta: 0.1,
    maxNewTokens: 80,
  };
}

/** Mean and sample standard deviation. */
export function spread(values: readonly number[]): Spread {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length < 2 ? 0 : values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance), perSeed: [...values] };
}

interface SeedScore {
  seed: number;
  scores: WorldScores;
  curve: Array<{ step: number; loss: number; margin: number }>;
  rows: number;
}

function armResult(spec: ArmSpec, runs: readonly SeedScore[]): ArmResult {
  const perDim = (d: string) => runs.map((r) => r.scores.accuracy[d as keyof typeof r.scores.accuracy] ?? 0);
  const scores = Object.fromEntries(dimensions.map((d) => [d, spread(perDim(d))]));
  const averages = runs.map((r) => dimensions.reduce((s, d) => s + (r.scores.accuracy[d] ?? 0), 0) / dimensions.length);
  const mix = (key: keyof ErrorMix) => runs.reduce((s, r) => s + r.scores.errorMix[key], 0) / runs.length;
  const result: ArmResult = {
    name: spec.name,
    method: spec.method,
    scores,
    average: spread(averages),
    errorMix: errorMixOf(mix),
    curves: runs.map((r) => ({ seed: r.seed, points: r.curve })),
    trainRows: runs[0]?.rows ?? 0,
  };
  if (spec.strategy !== undefined) result.strategy = spec.strategy;
  if (spec.loss !== undefined) result.loss = spec.loss;
  if (runs.every((r) => r.scores.mc1 !== undefined)) {
    result.mc1 = spread(runs.map((r) => r.scores.mc1!));
    result.mc2 = spread(runs.map((r) => r.scores.mc2!));
  }
  return result;
}

/** Loss and reward margin per logged step of a `seapo train` run. */
async function readCurve(runDir: string): Promise<SeedScore["curve"]> {
  const curve: SeedScore["curve"] = [];
  for await (const m of readRecords<Record<string, number>>(join(runDir, METRICS_FILE))) {
    if (typeof m.loss !== "number" || m.step === undefined) continue;
    curve.push({
      step: m.step,
      loss: m.loss,
      margin: m["rewards/margins"] ?? (m["rewards/chosen"] ?? 0) - (m["rewards/rejected"] ?? 0),
    });
  }
  return curve;
}

export async function runDemo(options: DemoOptions): Promise<DemoResults> {
  const { log } = options;
  const timings: DemoResults["timings"] = [];
  const stage = async <T>(name: string, work: () => Promise<T> | T): Promise<T> => {
    const started = Date.now();
    log(`▶ ${name}`);
    const result = await work();
    const seconds = (Date.now() - started) / 1000;
    timings.push({ stage: name, seconds });
    log(`  ${name}: ${seconds.toFixed(1)} s`);
    return result;
  };
  await mkdir(options.out, { recursive: true });

  // ---- 1. world and base model
  const recipeFile = join(options.baseDir, BASE_RECIPE_FILE);
  if (!existsSync(recipeFile))
    throw new SeapoError(
      `${options.baseDir} is not a demo base model (no ${BASE_RECIPE_FILE}); build one with \`seapo demo build-base DIR\``,
    );
  const recipe = JSON.parse(readFileSync(recipeFile, "utf8")) as { options: { worldSeed: number } };
  const world = createWorld(recipe.options.worldSeed);
  const tasks = generateTasks(world);
  const pool = (split: "train" | "test") =>
    Object.fromEntries(dimensions.map((d) => [d, tasks[d][split]])) as Record<(typeof dimensions)[number], WorldItem[]>;
  const testItems = sampleItems(pool("test"), options.testPerDimension, new Rng(0));
  const base: HfModel = await loadHfModel(options.baseDir);
  const baseModel = LlamaModel.fromWeights(base.config, base.weights);
  const answerOptions = { maxNewTokens: options.maxNewTokens, batchSize: 16 };
  const baseScores = await stage("evaluate base", () =>
    evaluateOnWorld(baseModel, base.tokenizer, world, testItems, answerOptions),
  );

  // ---- 2. analyze the base model's errors on training prompts
  const analyzeItems = sampleItems(pool("train"), options.analyzePerDimension, new Rng(99));
  const analysis = await stage("analyze base errors", async () => {
    const dir = join(options.out, "analyze");
    await mkdir(dir, { recursive: true });
    const answers = evaluateOnWorld(baseModel, base.tokenizer, world, analyzeItems, answerOptions).answers;
    const input = join(dir, "answers.jsonl");
    writeFileAtomic(
      input,
      answers
        .map((a) =>
          JSON.stringify({ id: a.item.id, prompt: a.item.prompt, response: a.response, reference: a.item.answer }),
        )
        .join("\n") + "\n",
    );
    return runAnalyze({
      input,
      outDir: dir,
      classifier: worldClassifier(world, analyzeItems),
      judgeName: "world-checker",
      types: [...builtinErrorTypes],
    });
  });
  const mostCommon = (analysis.mostCommon ?? "correctness") as WorldErrorType;
  log(`  base errors: ${JSON.stringify(analysis.counts)}; most common: ${mostCommon}`);

  // ---- 3. arms × seeds
  const specs = armSpecs({ quick: options.quick });
  const runs = new Map<string, SeedScore[]>(specs.map((s) => [s.name, []]));
  runs.set(
    "base",
    options.seeds.map((seed) => ({ seed, scores: baseScores, curve: [], rows: 0 })),
  );
  const examples: InjectionExample[] = [];
  for (const seed of options.seeds) {
    const trainItems = sampleItems(pool("train"), options.trainPerDimension, new Rng(seed));
    interface Dataset {
      records: NegativeRecord[];
      /** Set when the data engine already wrote the training files (the LLM injector). */
      files?: { dpo: string; kto: string };
    }
    const datasets = new Map<string, Dataset>();
    const datasetFor = async (spec: ArmSpec): Promise<Dataset> => {
      const key = spec.method === "vanilla" ? "vanilla" : spec.strategy!;
      let dataset = datasets.get(key);
      if (dataset === undefined) {
        if (spec.method === "vanilla") {
          const vanilla = await stage(`seed ${seed}: sample vanilla pairs`, () =>
            vanillaRecords(baseModel, base.tokenizer, world, trainItems, {
              seed,
              temperature: 1,
              maxNewTokens: options.maxNewTokens,
              batchSize: 16,
            }),
          );
          log(
            `  vanilla: ${vanilla.records.length} pairs, ${vanilla.nearTies} with both answers equally right or wrong`,
          );
          dataset = { records: vanilla.records };
        } else if (options.llmInjector !== undefined) {
          const dir = join(options.out, "inject", `seed-${seed}`, spec.strategy!.replace(":", "-"));
          dataset = await stage(`seed ${seed}: inject ${spec.strategy} with ${options.llmInjector.name}`, () =>
            llmSeapoDataset(
              dir,
              trainItems,
              spec.strategy!,
              join(options.out, "analyze", "analysis.json"),
              options.llmInjector!,
              seed,
            ),
          );
          log(
            `  ${spec.strategy}: ${dataset.records.length} verified pairs from ${trainItems.length} prompts (rejects in ${dir})`,
          );
        } else {
          const seapo = seapoRecords(world, trainItems, spec.strategy!, mostCommon, seed);
          if (seapo.skipped > 0)
            log(`  ${spec.strategy}: ${seapo.skipped} prompt(s) had no rule for the type and were left out`);
          dataset = { records: seapo.records };
        }
        if (seed === options.seeds[0] && spec.strategy === "mixed") {
          // Per type, the first pair of each dimension: the report shows what an error looks like everywhere.
          for (const type of worldErrorTypes) {
            for (const dimension of dimensions) {
              const r = dataset.records.find((x) => x.errorType === type && x.sourceId.startsWith(`${dimension}-`));
              if (r !== undefined)
                examples.push({
                  errorType: type,
                  dimension,
                  prompt: r.prompt,
                  positive: r.chosen,
                  negative: r.rejected,
                });
            }
          }
        }
        datasets.set(key, dataset);
      }
      return dataset;
    };

    for (const spec of specs) {
      if (spec.method === "base") continue;
      const { records, files: written } = await datasetFor(spec);
      const armDir = join(options.out, "arms", spec.name, `seed-${seed}`);
      const files = written ?? writePreferenceFiles(join(armDir, "data"), records);
      const runDir = join(armDir, "run");
      const scores = await stage(`seed ${seed}: ${spec.name}`, async () => {
        const config = parseTrainConfig({
          model: options.baseDir,
          data: spec.loss === "kto" ? files.kto : files.dpo,
          out: runDir,
          loss: spec.loss === "kto" ? "kto" : "sigmoid",
          beta: options.beta,
          lr: options.lr,
          schedule: "cosine",
          epochs: 100,
          maxSteps: options.steps,
          batchSize: options.batchSize,
          gradAccum: 1,
          maxLength: 512,
          seed,
          logEvery: 1,
          saveEvery: 1_000_000,
          skipInvalid: true,
          saveAdapter: false,
          saveMerged: true,
        });
        await train(config, { log: () => {} });
        const trained = await loadHfModel(join(runDir, "model"));
        return evaluateOnWorld(
          LlamaModel.fromWeights(trained.config, trained.weights),
          trained.tokenizer,
          world,
          testItems,
          answerOptions,
        );
      });
      runs.get(spec.name)!.push({ seed, scores, curve: await readCurve(runDir), rows: records.length });
      log(
        `  ${spec.name}: ${dimensions.map((d) => `${d} ${((scores.accuracy[d] ?? 0) * 100).toFixed(0)}%`).join(", ")}`,
      );
    }
  }

  // ---- 4. results
  const results: DemoResults = demoResultsSchema.parse({
    version: 1,
    config: {
      ...options,
      log: undefined,
      llmInjector: undefined,
      injector: options.llmInjector?.name ?? "world-rules",
      baseRecipe: recipe,
    },
    seeds: options.seeds,
    dimensions: [...dimensions],
    arms: specs.map((spec) => armResult(spec, runs.get(spec.name)!)),
    analysis: { answers: analysis.total, wrong: analysis.wrong, byType: analysis.counts },
    examples,
    timings,
    finishedAt: new Date().toISOString(),
  });
  writeFileSync(join(options.out, RESULTS_FILE), `${JSON.stringify(results, null, 2)}\n`);
  return results;
}
