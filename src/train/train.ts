/**
 * `seapo train`: preference optimisation of a Hugging Face model folder on SeaPO rows. `train()`
 * reads top to bottom like nanoGPT's train.py: data, plan, model, reference, resume, then the loop,
 * whose log, eval and checkpoint steps are plain `if` blocks, then the outputs.
 *
 * Reproducibility: the batch plan is a pure function of (data, seed, epoch) and every dropout
 * stream is reseeded from (seed, step, micro-batch), so a run resumed from a checkpoint at step k
 * computes exactly the steps an uninterrupted run computes after k.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { AdamW, type HfModel, LlamaModel, loadHfModel, type WeightMap } from "../engine/index.js";
import { toJsonLines, writeFileAtomic } from "../io/index.js";
import { packageVersion } from "../version.js";
import { saveCheckpoint } from "./checkpoint.js";
import { parseLossSpec, type TrainConfig } from "./config.js";
import { readTrainingSet, type TrainingSet } from "./data.js";
import { EVAL_PREFIX, METRICS_FILE, RUN_FILE, type MetricsLine, type TrainRunFileInput } from "./files.js";
import { lossRequirements, type LossRequirements, type LossTerm } from "./losses/index.js";
import { MetricAccumulator } from "./metrics.js";
import { saveOutputs, type TrainedModel } from "./outputs.js";
import {
  adapterDisabledReference,
  cachedReference,
  frozenModelReference,
  referenceCacheKey,
  type ReferenceScorer,
  type ScoredRow,
} from "./reference.js";
import { loadReferenceModel } from "./reference-model.js";
import { diverged, resumeHash, resumeOrStart } from "./resume.js";
import { lrAt, planSteps, type StepPlan } from "./schedule.js";
import { trainWarnings } from "./warnings.js";
import { batchRows, batchTokens, evaluate, trainStep, type LossSetup, type Learner } from "./step.js";

export { METRICS_FILE, RUN_FILE } from "./files.js";
export { lrAt, type LrSchedule } from "./schedule.js";
export type { TrainedModel } from "./outputs.js";

export interface TrainOptions {
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
  /** Called once before the first step of the loop: steps run from startStep to totalSteps. */
  onStart?: (steps: { startStep: number; totalSteps: number }) => void;
  /**
   * Called after every optimizer step with its number (1-based) and, on a log step, the train
   * metrics line just written to metrics.jsonl. Nothing is drawn without it.
   */
  onStep?: (step: number, metrics: MetricsLine | undefined) => void;
}

export interface TrainSummary {
  steps: number;
  resumedFrom: number | undefined;
  rows: number;
  outputs: string[];
  lastMetrics: Record<string, number>;
  /** The trained weights in memory (LoRA merged in), the same as the model/ folder would load. */
  model: TrainedModel;
}

export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const out = config.out;
  await mkdir(out, { recursive: true });
  const terms = parseLossSpec(config.loss, config);
  const needs = lossRequirements(terms);

  // ---- data: rows → tokens with the model's chat template
  const hf = await loadHfModel(config.model);
  const trainSet = await readTrainingSet(config.data, config, needs, hf.tokenizer, join(out, "rejects.jsonl"));
  const evalSet =
    config.evalData === undefined ? undefined : await readTrainingSet(config.evalData, config, needs, hf.tokenizer);
  const dataHash = createHash("sha256").update(readFileSync(config.data)).digest("hex");
  log(
    `data: ${trainSet.data.rows.length} ${trainSet.data.kind} rows (${trainSet.rejects} rejected, ${trainSet.dropped} dropped for length, ${trainSet.truncated} truncated)`,
  );

  for (const warning of dataWarnings(config, terms, trainSet)) log(`warning: ${warning}`);

  // ---- plan: seeded, length-bucketed micro-batches; a step is gradAccum of them
  const plan = planSteps(trainSet.data, config, needs.kl);
  const { totalSteps, stepsPerEpoch } = plan;

  // ---- model: LoRA on the frozen base, or every weight trainable
  const learner = createLearner(hf, config);

  // ---- reference log-probs
  const reference = await setUpReference(config, learner.policy, hf, { trainSet, plan, needs }, log);
  const trainLoss: LossSetup = { terms, needs, reference: reference.train, ldAlpha: config.ldAlpha };
  const evalLoss: LossSetup = { terms, needs, reference: reference.eval, ldAlpha: config.ldAlpha };

  // ---- resume from the newest complete checkpoint, or start fresh
  const metricsFile = join(out, METRICS_FILE);
  const configHash = resumeHash(config);
  const resumedFrom = await resumeOrStart(config, learner, { dataHash, configHash, totalSteps, metricsFile }, log);
  const startStep = resumedFrom ?? 0;
  const runInfo = runningFile(config, { referenceMode: reference.mode, plan, terms, dataHash, trainSet, learner });
  writeRunFile(out, runInfo);

  // ---- the loop
  const metrics = new MetricAccumulator();
  let lastMetrics: Record<string, number> = {};
  // TRL's num_tokens: every token trained on so far; the steps before a resume are counted from the plan.
  let numTokens = tokensBefore(startStep, plan, trainSet);
  let intervalTokens = numTokens;
  let intervalStart = Date.now();
  const onDiverged = (what: string, step: number, microBatch: number | undefined) =>
    diverged(what, step, microBatch, out);
  options.onStart?.({ startStep, totalSteps });
  for (let step = startStep; step < totalSteps; step++) {
    learner.optimizer.lr = lrAt(step, plan.schedule);
    const batches = plan.microBatches(step);
    const stepInfo = { index: step, batches, data: trainSet.data };
    numTokens += trainStep(learner, stepInfo, trainLoss, config, metrics, onDiverged);
    const done = step + 1;

    let line: MetricsLine | undefined;
    if (done % config.logEvery === 0 || done === totalSteps) {
      const seconds = (Date.now() - intervalStart) / 1000;
      const logged = {
        step: done,
        epoch: done / stepsPerEpoch,
        ...metrics.flush("train"),
        num_tokens: numTokens,
        learning_rate: learner.optimizer.lr,
        "tokens/s": (numTokens - intervalTokens) / Math.max(seconds, 1e-9),
        elapsed: (Date.now() - started) / 1000,
      } satisfies MetricsLine;
      await appendFile(metricsFile, toJsonLines([logged]));
      lastMetrics = line = logged;
      intervalTokens = numTokens;
      intervalStart = Date.now();
    }
    options.onStep?.(done, line);

    if (
      evalSet !== undefined &&
      ((config.evalEvery !== undefined && done % config.evalEvery === 0) || done === totalSteps)
    ) {
      const evalLine = evaluate(learner.policy, evalSet.data, evalLoss, config);
      const evalMetrics = { step: done, ...evalLine, [`${EVAL_PREFIX}num_tokens`]: numTokens } satisfies MetricsLine;
      await appendFile(metricsFile, toJsonLines([evalMetrics]));
    }

    if (done % config.saveEvery === 0 && done < totalSteps) {
      const state = { step: done, totalSteps, seed: config.seed, dataHash, configHash };
      await saveCheckpoint(out, state, learner.params, learner.optimizer.stateDict(), config.keepCheckpoints);
    }
  }

  // ---- outputs: PEFT adapter, merged HF folder, optional GGUF, run.json
  const saved = await saveOutputs(learner.policy, hf, config);
  const outputs = [METRICS_FILE, RUN_FILE, ...saved.outputs];
  const elapsedSeconds = (Date.now() - started) / 1000;
  writeRunFile(out, { ...runInfo, status: "completed", resumedFrom, elapsedSeconds, outputs, lastMetrics });
  const rows = trainSet.data.rows.length;
  return { steps: totalSteps, resumedFrom, rows, outputs, lastMetrics, model: saved.model };
}

/** Tokens the first `steps` optimizer steps of the plan train on (what a resumed run has already seen). */
function tokensBefore(steps: number, plan: StepPlan, trainSet: TrainingSet): number {
  let total = 0;
  for (let step = 0; step < steps; step++)
    for (const batch of plan.microBatches(step)) total += batchTokens(trainSet.data, batch);
  return total;
}

/** The run's warnings about its settings and its data (see warnings.ts). */
function dataWarnings(config: TrainConfig, terms: LossTerm[], trainSet: TrainingSet): string[] {
  const warnings = trainWarnings(config, terms, trainSet.data);
  if (trainSet.prefixMismatches > 0)
    warnings.push(
      `${trainSet.prefixMismatches} answers tokenize so that prompt + answer does not start with the prompt's tokens (TRL warns the same); their completion ids are cut at the prompt's length`,
    );
  return warnings;
}

function writeRunFile(out: string, run: TrainRunFileInput): void {
  writeFileAtomic(join(out, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
}

/** run.json as written before the first step: the resolved settings, the data and the versions. */
function runningFile(
  config: TrainConfig,
  run: {
    referenceMode: NonNullable<TrainConfig["reference"]>;
    plan: StepPlan;
    terms: LossTerm[];
    dataHash: string;
    trainSet: TrainingSet;
    learner: Learner;
  },
): TrainRunFileInput {
  const { kind, rows } = run.trainSet.data;
  return {
    config,
    resolved: {
      referenceMode: run.referenceMode,
      totalSteps: run.plan.totalSteps,
      stepsPerEpoch: run.plan.stepsPerEpoch,
      warmupSteps: run.plan.schedule.warmupSteps,
      effectiveBatch: config.batchSize * config.gradAccum,
      losses: run.terms,
    },
    data: {
      file: config.data,
      sha256: run.dataHash,
      rows: rows.length,
      kind,
      rejected: run.trainSet.rejects,
      dropped: run.trainSet.dropped,
      truncated: run.trainSet.truncated,
    },
    versions: { seapo: packageVersion(), node: process.version },
    trainableParameters: [...run.learner.params.values()].reduce((n, t) => n + t.size, 0),
    status: "running",
  };
}

/**
 * The policy with LoRA on the frozen base (hf.weights stays untouched), or a trainable copy of
 * every weight, and AdamW over its trainable parameters.
 */
function createLearner(hf: HfModel, config: TrainConfig): Learner {
  const lora = config.finetuning === "lora";
  const copyWeights = (w: WeightMap): WeightMap =>
    new Map([...w].map(([name, t]) => [name, { shape: [...t.shape], data: t.data.slice() }]));
  const policy = LlamaModel.fromWeights(hf.config, lora ? hf.weights : copyWeights(hf.weights), { trainable: !lora });
  // TRL's disable_dropout switches off every dropout module, LoRA's included.
  if (lora)
    policy.applyLora({ ...config.lora, dropout: config.disableDropout ? 0 : config.lora.dropout, seed: config.seed });
  const params = policy.trainableParameters();
  const optimizer = new AdamW(params, { lr: config.lr, weightDecay: config.weightDecay });
  return { policy, params, optimizer };
}

/**
 * The reference scorers of the train and eval batches (none when no loss term reads one). In
 * cached mode every row the run will score is scored once up front (or read back from the cache);
 * eval batches are scored live, as they are not in the plan.
 */
async function setUpReference(
  config: TrainConfig,
  policy: LlamaModel,
  hf: HfModel,
  run: { trainSet: TrainingSet; plan: StepPlan; needs: LossRequirements },
  log: (line: string) => void,
): Promise<{ mode: NonNullable<TrainConfig["reference"]>; train?: ReferenceScorer; eval?: ReferenceScorer }> {
  const lora = config.finetuning === "lora";
  const elsewhere = (config.refModel ?? config.refAdapter) !== undefined;
  const mode = config.reference ?? (lora && !elsewhere ? "adapter-disabled" : "frozen-copy");
  if (!run.needs.reference) return { mode };
  const other = await loadReferenceModel(config, hf);
  if (other !== undefined)
    log(
      `reference: ${config.refModel ?? config.model}${config.refAdapter === undefined ? "" : ` with the adapter ${config.refAdapter}`}`,
    );
  const live =
    other !== undefined
      ? frozenModelReference(other.model)
      : lora && mode !== "frozen-copy"
        ? adapterDisabledReference(policy)
        : frozenModelReference(LlamaModel.fromWeights(hf.config, hf.weights));
  if (mode !== "cached") return { mode, train: live, eval: live };
  const { trainSet, plan } = run;
  const kl = run.needs.kl;
  const shape = { kl, ldAlpha: config.ldAlpha };
  const every: ScoredRow[] = [];
  for (let step = 0; step < plan.totalSteps; step++)
    for (const batch of plan.microBatches(step)) every.push(...batchRows(trainSet.data, batch, shape));
  const key = referenceCacheKey(other?.weights ?? hf.weights, trainSet.data, {
    seed: config.seed,
    batchSize: config.batchSize,
    bucketing: config.lengthBucketing,
    totalSteps: plan.totalSteps,
    kl,
    ...(config.ldAlpha === undefined ? {} : { ldAlpha: config.ldAlpha }),
  });
  const dir = config.referenceCache ?? join(config.out, "reference-cache");
  const cache = await cachedReference(dir, key, every, config.batchSize, live);
  log(`reference: ${cache.hit ? "loaded" : "computed and stored"} ${cache.file}`);
  return { mode, train: cache.scorer, eval: live };
}
