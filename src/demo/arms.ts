/**
 * The demo's arms and their training data. Every arm trains on the same prompts with the same
 * hyperparameters; only where the pairs come from differs:
 *   vanilla  the base model's own sampled answers, ranked by a noisy reward (the paper's baseline:
 *            both answers are often equally good or equally bad, so many pairs are near-ties);
 *   seapo    the gold answer against a copy with one injected error of a chosen type.
 * Datasets are written in the data engine's conversational formats (dpo_conversational.jsonl,
 * kto_conversational.jsonl), which `seapo train` reads through the chat template.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type HfTokenizer, type LlamaModel, Rng } from "../engine/index.js";
import {
  toDpoConversationalRow,
  toDpoMultiRow,
  toKtoConversationalRows,
  type DpoRow,
  type NegativeRecord,
} from "../data/index.js";
import type { OpenedModel } from "../llm/index.js";
import {
  builtinErrorTypes,
  exportDatasets,
  exportFiles,
  parseStrategy,
  runInject,
  seededUniform,
} from "../negatives/index.js";
import { answerPrompts } from "./evaluate.js";
import type { Answered } from "./likelihood.js";
import {
  checkAnswer,
  injectError,
  worldErrorTypes,
  type World,
  type WorldErrorType,
  type WorldItem,
} from "./world/index.js";
import { readRecords, toJsonLines, writeFileAtomic } from "../io/index.js";

export type ArmMethod = "base" | "vanilla" | "seapo";
/** KTO (unpaired), DPO (pairs), or multi: DPO's listwise form over several negatives per prompt (multi_dpo). */
export type PreferenceLoss = "kto" | "dpo" | "multi";

export interface ArmSpec {
  name: string;
  method: ArmMethod;
  /** SeaPO only: single:<type>, mixed, most-common, all (every type per prompt) or on-policy (mixed, into the base's own right answers). */
  strategy?: string;
  loss?: PreferenceLoss;
}

/**
 * The arm sets a run can train; every trained arm runs with KTO and with DPO:
 *   quick  base, vanilla, mixed and most-common (the CI run);
 *   main   base, vanilla and mixed: the headline comparison, cheap enough to score the whole test split;
 *   paper  the paper's comparison: base, vanilla, single for each type, mixed and most-common;
 *   full   paper, plus issue 14's variants: every type at once (listwise) and on-policy negatives.
 */
export const armSets = ["quick", "main", "paper", "full"] as const;
export type ArmSet = (typeof armSets)[number];

const paperStrategies = [...worldErrorTypes.map((t) => `single:${t}`), "mixed", "most-common"];
// full adds its variants after these (armSpecs), so its strategies are the paper's.
const strategiesOf: Record<ArmSet, string[]> = {
  quick: ["mixed", "most-common"],
  main: ["mixed"],
  paper: paperStrategies,
  full: paperStrategies,
};

export function armSpecs(set: ArmSet): ArmSpec[] {
  const losses: PreferenceLoss[] = ["kto", "dpo"];
  const seapo = (strategy: string, loss: PreferenceLoss): ArmSpec => ({
    name: `seapo-${strategy.replace("single:", "")}-${loss}`,
    method: "seapo",
    strategy,
    loss,
  });
  return [
    { name: "base", method: "base" },
    ...losses.map((loss): ArmSpec => ({ name: `vanilla-${loss}`, method: "vanilla", loss })),
    ...strategiesOf[set].flatMap((strategy) => losses.map((loss) => seapo(strategy, loss))),
    ...(set === "full" ? [seapo("all", "multi"), ...losses.map((loss) => seapo("on-policy", loss))] : []),
  ];
}

/** The error type a prompt gets under mixed: drawn from (seed, item id), as the data engine does. */
export function mixedType(seed: number, itemId: string): WorldErrorType {
  return worldErrorTypes[Math.floor(seededUniform(seed, itemId, "mixed") * worldErrorTypes.length)]!;
}

export const INJECTOR_NAME = "world-rules";
export const TEMPLATE_VERSION = "world-rules-v1";

/**
 * SeaPO pairs: gold answer against one injected error. The type per prompt follows the strategy
 * (mixed draws it from (seed, item id) as the data engine does); a prompt no rule of that type
 * fits is counted, not silently lost.
 */
export function seapoRecords(
  world: World,
  items: readonly WorldItem[],
  strategy: string,
  mostCommon: WorldErrorType,
  seed: number,
): { records: NegativeRecord[]; skipped: number } {
  const rng = new Rng(seed);
  const records: NegativeRecord[] = [];
  let skipped = 0;
  for (const item of items) {
    const types: WorldErrorType[] =
      strategy === "all"
        ? [...worldErrorTypes]
        : [
            strategy === "mixed"
              ? mixedType(seed, item.id)
              : strategy === "most-common"
                ? mostCommon
                : (strategy.replace("single:", "") as WorldErrorType),
          ];
    for (const type of types) {
      const negative = injectError(world, item, item.answer, type, rng);
      if (negative === undefined) skipped++;
      else records.push(record(item, item.answer, negative, type, seed));
    }
  }
  return { records, skipped };
}

function record(item: WorldItem, chosen: string, rejected: string, errorType: string, seed: number): NegativeRecord {
  return {
    sourceId: item.id,
    errorType,
    injector: INJECTOR_NAME,
    templateVersion: TEMPLATE_VERSION,
    seed,
    prompt: item.prompt,
    history: [],
    chosen,
    rejected,
  };
}

/**
 * On-policy SeaPO (issue 14): the base model's own greedy answers that the checker judges right, each
 * with one injected error of the mixed strategy's type; prompts it answers wrongly give no pair.
 */
export function onPolicyRecords(
  world: World,
  items: readonly WorldItem[],
  answers: readonly string[],
  seed: number,
): { records: NegativeRecord[]; wrong: number; skipped: number } {
  const rng = new Rng(seed);
  const records: NegativeRecord[] = [];
  let wrong = 0;
  let skipped = 0;
  items.forEach((item, i) => {
    const answer = answers[i]!;
    if (!checkAnswer(world, item, answer).correct) {
      wrong++;
      return;
    }
    const type = mixedType(seed, item.id);
    const negative = injectError(world, item, answer, type, rng);
    if (negative === undefined || negative === answer) skipped++;
    else records.push(record(item, answer, negative, type, seed));
  });
  return { records, wrong, skipped };
}

/** Spread of the reward model's noise around the checker's 0/1 verdict. */
export const VANILLA_REWARD_NOISE = 0.5;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, absolute error below 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * The reward noise as results.json records it. Each answer's reward gets its own N(0, σ²), so a
 * decisive pair (one right, one wrong, a true gap of 1) is reversed with probability Φ(−1 / (σ√2)).
 */
export function vanillaRewardNoise(sigma = VANILLA_REWARD_NOISE) {
  return {
    sigma,
    expectedReversedShare: normalCdf(-1 / (sigma * Math.SQRT2)),
    rationale:
      "Set when the demo was written, before any result of the protocol in docs/science.md, and never tuned on results: " +
      "σ = 0.5 makes the reward model rank a pair with one right and one wrong answer the wrong way round with " +
      "probability Φ(−1/(σ√2)) ≈ 7.9% (a good but imperfect reward model), and rank equally right or equally wrong " +
      "answers at random, as a reward model ranks near-ties.",
  };
}

/** How the checker sees a seed's vanilla pairs. */
export interface VanillaPairCounts {
  pairs: number;
  informative: number;
  bothRight: number;
  bothWrong: number;
  reversed: number;
}

/**
 * Vanilla pairs: two sampled answers per prompt, ranked by a noisy reward (the checker's verdict plus
 * Gaussian noise). The higher is chosen, the lower rejected, ties or not, as a reward-model pipeline does.
 */
export function vanillaRecords(
  model: LlamaModel,
  tokenizer: HfTokenizer,
  world: World,
  items: readonly WorldItem[],
  options: { seed: number; temperature: number; maxNewTokens: number; batchSize: number },
): { records: NegativeRecord[]; counts: VanillaPairCounts; sampledWrong: Answered[] } {
  const prompts = items.map((i) => i.prompt);
  const samples = [0, 1].map((k) =>
    answerPrompts(model, tokenizer, prompts, { ...options, seed: options.seed * 2 + k }),
  );
  const rng = new Rng(options.seed + 1);
  const records: NegativeRecord[] = [];
  const counts: VanillaPairCounts = { pairs: 0, informative: 0, bothRight: 0, bothWrong: 0, reversed: 0 };
  const sampledWrong: Answered[] = [];
  items.forEach((item, i) => {
    const scored = samples.map((s) => {
      const verdict = checkAnswer(world, item, s[i]!);
      if (!verdict.correct) sampledWrong.push({ prompt: item.prompt, text: s[i]! });
      return {
        text: s[i]!,
        correct: verdict.correct,
        reward: (verdict.correct ? 1 : 0) + VANILLA_REWARD_NOISE * rng.normal(),
      };
    });
    const [chosen, rejected] =
      scored[0]!.reward >= scored[1]!.reward ? [scored[0]!, scored[1]!] : [scored[1]!, scored[0]!];
    counts.pairs++;
    if (chosen.correct === rejected.correct) counts[chosen.correct ? "bothRight" : "bothWrong"]++;
    else counts[chosen.correct ? "informative" : "reversed"]++;
    records.push({
      sourceId: item.id,
      errorType: "sampled",
      injector: "self-sample",
      templateVersion: "vanilla-v1",
      seed: options.seed,
      prompt: item.prompt,
      history: [],
      chosen: chosen.text,
      rejected: rejected.text,
    });
  });
  return { records, counts, sampledWrong };
}

/**
 * Writes one arm and seed's rows in the data engine's conversational formats (each positive once in
 * KTO). Conversational rows go through the chat template in `seapo train`, as TRL does, which is how
 * the demo's base model was fine-tuned and how it is asked at test time.
 */
export function writePreferenceFiles(dir: string, records: readonly NegativeRecord[]): PreferenceFiles {
  mkdirSync(dir, { recursive: true });
  const dpo = join(dir, exportFiles.dpoConversational);
  const kto = join(dir, exportFiles.ktoConversational);
  const multi = join(dir, exportFiles.dpoMulti);
  writeFileAtomic(dpo, toJsonLines(records.map(toDpoConversationalRow)));
  writeFileAtomic(kto, toJsonLines(records.flatMap((r) => toKtoConversationalRows(r, { includeDesirable: true }))));
  writeFileAtomic(multi, toJsonLines(multiRows(records)));
  return { dpo, kto, multi };
}

/** The training files of one arm and seed: DPO pairs, KTO items, and one listwise row per prompt. */
export interface PreferenceFiles {
  dpo: string;
  kto: string;
  multi?: string;
}

/** dpo_multi.jsonl rows in the conversational shape (one user turn; each answer an assistant turn), one per prompt. */
function multiRows(records: readonly NegativeRecord[]) {
  const groups = new Map<string, NegativeRecord[]>();
  for (const r of records) groups.set(r.sourceId, [...(groups.get(r.sourceId) ?? []), r]);
  const turn = (content: string) => [{ role: "assistant", content }];
  return [...groups.values()].map((group) => {
    const row = toDpoMultiRow(group);
    return {
      ...row,
      prompt: [{ role: "user", content: row.prompt }],
      chosen: turn(row.chosen),
      rejected: row.rejected.map(turn),
    };
  });
}

/** The error types the world's checker knows (the built-in ones), as the data engine describes them to an LLM. */
export const worldTypesForInjection = [...builtinErrorTypes];

/**
 * SeaPO pairs through the data engine's own pipeline (`--injector llm`): the gold answers go to
 * `seapo inject` with the arm's strategy (most-common reads the demo's analysis.json), every rewrite
 * is verified, and the exported conversational DPO / KTO files are the arm's training files.
 */
export async function llmSeapoDataset(
  dir: string,
  items: readonly WorldItem[],
  strategySpec: string,
  analysisFile: string,
  injector: OpenedModel,
  seed: number,
): Promise<{ records: NegativeRecord[]; files: { dpo: string; kto: string } }> {
  mkdirSync(dir, { recursive: true });
  const input = join(dir, "items.jsonl");
  writeFileAtomic(input, toJsonLines(items.map((i) => ({ id: i.id, prompt: i.prompt, response: i.answer }))));
  const strategy = await parseStrategy(strategySpec, worldTypesForInjection, analysisFile);
  await runInject({
    input,
    outDir: dir,
    strategy,
    injectorName: injector.name,
    injector: injector.model,
    seed,
    maxTokens: 256,
    temperature: 0,
  });
  await exportDatasets(dir, strategy, seed, {
    retries: 0,
    cacheHits: injector.model.cacheStats.hits,
    cacheMisses: injector.model.cacheStats.misses,
  });
  const dpo = join(dir, exportFiles.dpo);
  const records: NegativeRecord[] = [];
  for await (const row of readRecords<DpoRow>(dpo))
    records.push({ ...row.seapo, prompt: row.prompt, history: [], chosen: row.chosen, rejected: row.rejected });
  return {
    records,
    files: { dpo: join(dir, exportFiles.dpoConversational), kto: join(dir, exportFiles.ktoConversational) },
  };
}
