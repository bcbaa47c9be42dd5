/**
 * The training data of one seed: each kind (vanilla, or one SeaPO strategy) is built once, the
 * first time an arm asks for it, and shared by that arm's KTO and DPO runs.
 */
import { join } from "node:path";
import type { NegativeRecord } from "../data/index.js";
import { ANALYSIS_FILE } from "../negatives/index.js";
import {
  llmSeapoDataset,
  onPolicyRecords,
  seapoRecords,
  vanillaRecords,
  type ArmSpec,
  type PreferenceFiles,
} from "./arms.js";
import { answerPrompts } from "./evaluate.js";
import type { Answered } from "./likelihood.js";
import type { DemoOptions } from "./options.js";
import type { InjectionExample, VanillaPairs } from "./results.js";
import { analyzeDir, type DemoSetup } from "./setup.js";
import type { Stage } from "./stages.js";
import { dimensions, worldErrorTypes, type WorldErrorType, type WorldItem } from "./world/index.js";

export interface ArmDataset {
  records: NegativeRecord[];
  /** Set when the data engine already wrote the training files (the LLM injector). */
  files?: PreferenceFiles;
  /** Vanilla only: the sampled answers the checker judged wrong (for the negative-plausibility statistic). */
  sampledWrong?: Answered[];
}

export interface SeedDataContext {
  options: DemoOptions;
  setup: DemoSetup;
  mostCommon: WorldErrorType;
  stage: Stage;
  /** The report's examples: filled from the first seed's mixed dataset. */
  examples: InjectionExample[];
  /** Filled per seed as the vanilla pairs are built. */
  vanillaPairs: VanillaPairs[];
}

/** The dataset an arm trains on for `seed`, built on first use. */
export function seedDatasets(
  ctx: SeedDataContext,
  seed: number,
  trainItems: readonly WorldItem[],
): (spec: ArmSpec) => Promise<ArmDataset> {
  const built = new Map<string, ArmDataset>();
  return async (spec) => {
    const key = spec.method === "vanilla" ? "vanilla" : spec.strategy!;
    let dataset = built.get(key);
    if (dataset === undefined) {
      dataset = await buildDataset(ctx, spec, seed, trainItems);
      if (seed === ctx.options.seeds[0] && spec.strategy === "mixed") ctx.examples.push(...examplesOf(dataset.records));
      built.set(key, dataset);
    }
    return dataset;
  };
}

async function buildDataset(
  ctx: SeedDataContext,
  spec: ArmSpec,
  seed: number,
  trainItems: readonly WorldItem[],
): Promise<ArmDataset> {
  const { options, setup, stage } = ctx;
  const { log } = options;
  if (spec.method === "vanilla") {
    const vanilla = await stage(`seed ${seed}: sample vanilla pairs`, () =>
      vanillaRecords(setup.baseModel, setup.base.tokenizer, setup.world, trainItems, {
        seed,
        temperature: 1,
        maxNewTokens: options.maxNewTokens,
        batchSize: 16,
      }),
    );
    const c = vanilla.counts;
    ctx.vanillaPairs.push({ seed, ...c });
    log(
      `  vanilla: ${c.pairs} pairs: ${c.informative} informative, ${c.bothRight} both right, ${c.bothWrong} both wrong, ${c.reversed} reversed`,
    );
    return { records: vanilla.records, sampledWrong: vanilla.sampledWrong };
  }
  const strategy = spec.strategy!;
  if (strategy === "on-policy") return onPolicyDataset(ctx, seed, trainItems);
  const injector = options.llmInjector;
  if (injector !== undefined && strategy !== "all") {
    const dir = join(options.out, "inject", `seed-${seed}`, strategy.replace(":", "-"));
    const analysisFile = join(analyzeDir(options.out), ANALYSIS_FILE);
    const dataset = await stage(`seed ${seed}: inject ${strategy} with ${injector.name}`, () =>
      llmSeapoDataset(dir, trainItems, strategy, analysisFile, injector, seed),
    );
    log(
      `  ${strategy}: ${dataset.records.length} verified pairs from ${trainItems.length} prompts (rejects in ${dir})`,
    );
    return dataset;
  }
  const seapo = seapoRecords(setup.world, trainItems, strategy, ctx.mostCommon, seed);
  if (seapo.skipped > 0) log(`  ${strategy}: ${seapo.skipped} prompt(s) had no rule for the type and were left out`);
  return { records: seapo.records };
}

/** On-policy SeaPO: errors injected into the base model's own right answers (greedy), never into gold. */
async function onPolicyDataset(
  ctx: SeedDataContext,
  seed: number,
  trainItems: readonly WorldItem[],
): Promise<ArmDataset> {
  const { setup, options, stage } = ctx;
  const answers = await stage(`seed ${seed}: base answers for on-policy negatives`, () =>
    answerPrompts(
      setup.baseModel,
      setup.base.tokenizer,
      trainItems.map((i) => i.prompt),
      setup.answerOptions,
    ),
  );
  const onPolicy = onPolicyRecords(setup.world, trainItems, answers, seed);
  options.log(
    `  on-policy: ${onPolicy.records.length} pairs from ${trainItems.length} prompts (${onPolicy.wrong} answered wrongly, ${onPolicy.skipped} with no rule for the type)`,
  );
  return { records: onPolicy.records };
}

/** Per type, the first pair of each dimension: the report shows what an error looks like everywhere. */
function examplesOf(records: readonly NegativeRecord[]): InjectionExample[] {
  const examples: InjectionExample[] = [];
  for (const type of worldErrorTypes) {
    for (const dimension of dimensions) {
      const r = records.find((x) => x.errorType === type && x.sourceId.startsWith(`${dimension}-`));
      if (r !== undefined)
        examples.push({ errorType: type, dimension, prompt: r.prompt, positive: r.chosen, negative: r.rejected });
    }
  }
  return examples;
}
