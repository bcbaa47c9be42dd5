/**
 * `seapo train`: preference optimisation of a Hugging Face model folder on SeaPO rows. One function
 * read top to bottom (nanoGPT's train.py): data, model, reference, resume, then the loop, whose
 * log, eval and checkpoint steps are plain `if` blocks, then the outputs.
 *
 * Reproducibility: the batch plan is a pure function of (data, seed, epoch) and every dropout
 * stream is reseeded from (seed, step, micro-batch), so a run resumed from a checkpoint at step k
 * computes exactly the steps an uninterrupted run computes after k.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { packageVersion } from "../version.js";
import { createProgress } from "../cli/progress.js";
import { AdamW, clipGradNorm, LlamaModel, noGrad, ops, Tensor, type WeightMap } from "../engine/index.js";
import { exportGguf, loadHfModel, saveHfModel, saveLoraAdapter } from "../engine/io/index.js";
import { InputError, SeapoError } from "../errors.js";
import { CHECKPOINT_DIR, checkpointName, listCheckpoints, loadLatestCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { parseLossSpec, type TrainConfig } from "./config.js";
import { planEpoch, readPreferenceRows, rowLength, rowsForLoss, tokenizeRows, type TokenizedRows } from "./data.js";
import {
  combineLosses,
  ktoKlRows,
  lossRequirements,
  type LossInputs,
  type LossRequirements,
  type LossTerm,
} from "./losses/index.js";
import { MetricAccumulator, type MetricMode } from "./metrics.js";
import {
  adapterDisabledReference,
  cachedReference,
  completionLogps,
  frozenModelReference,
  referenceCacheKey,
  type ReferenceScorer,
  type ScoredRow,
} from "./reference.js";
import { toJsonLines, writeFileAtomic } from "../io/index.js";
import { METRICS_FILE, RUN_FILE, type MetricsLine, type TrainRunFileInput } from "./files.js";

export interface LrSchedule {
  lr: number;
  schedule: TrainConfig["schedule"];
  warmupSteps: number;
  totalSteps: number;
  minLrRatio: number;
}

/**
 * Learning rate of optimizer step `step` (0-based), as transformers' schedulers give it: linear
 * warm-up from 0, then cosine or linear decay to lr·minLrRatio at totalSteps, or constant.
 */
export function lrAt(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  if (s.schedule === "constant") return s.lr;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  const shape = s.schedule === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return s.lr * (s.minLrRatio + (1 - s.minLrRatio) * shape);
}

export interface TrainOptions {
  /** Status lines (default: stderr). */
  log?: (line: string) => void;
}

export interface TrainSummary {
  steps: number;
  resumedFrom: number | undefined;
  rows: number;
  outputs: string[];
  lastMetrics: Record<string, number>;
}

export { METRICS_FILE, RUN_FILE } from "./files.js";

/** Settings a resumed run must share with the run that wrote the checkpoint. */
function resumeHash(config: TrainConfig): string {
  const {
    out: _out,
    resume: _resume,
    logEvery: _l,
    saveEvery: _s,
    keepCheckpoints: _k,
    evalData: _e,
    evalEvery: _ee,
    saveAdapter: _a,
    saveMerged: _m,
    gguf: _g,
    referenceCache: _r,
    ...rest
  } = config;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}

export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const out = config.out;
  await mkdir(out, { recursive: true });
  const terms = parseLossSpec(config.loss, config);
  const needs = lossRequirements(terms);
  const lora = config.finetuning === "lora";

  // ---- data: rows → tokens with the model's chat template
  const hf = await loadHfModel(config.model);
  const loadRows = async (
    file: string,
    rejectsFile: string | undefined,
  ): Promise<{ data: TokenizedRows; dropped: number; truncated: number; rejects: number }> => {
    const { data: raw, rejects } = await readPreferenceRows(file, { skipInvalid: config.skipInvalid });
    if (rejectsFile !== undefined && rejects.length > 0) writeFileAtomic(rejectsFile, toJsonLines(rejects));
    const rows = rowsForLoss(raw, needs.kind, {
      file,
      loss: config.loss,
      hint: "train on dpo.jsonl, or use --loss kto",
    });
    const { data, stats } = tokenizeRows(rows, hf.tokenizer, config.maxLength);
    if (data.rows.length < (needs.kl ? 2 : 1))
      throw new InputError(
        file,
        undefined,
        undefined,
        `only ${data.rows.length} row(s) fit --max-length ${config.maxLength}`,
      );
    return { data, ...stats, rejects: rejects.length };
  };
  const trainSet = await loadRows(config.data, join(out, "rejects.jsonl"));
  const evalSet = config.evalData === undefined ? undefined : await loadRows(config.evalData, undefined);
  const dataHash = createHash("sha256").update(readFileSync(config.data)).digest("hex");
  log(
    `data: ${trainSet.data.rows.length} ${trainSet.data.kind} rows (${trainSet.rejects} rejected, ${trainSet.dropped} dropped for length, ${trainSet.truncated} truncated)`,
  );

  // ---- plan: seeded, length-bucketed micro-batches; a step is gradAccum of them
  const lengths = trainSet.data.rows.map(rowLength);
  const plans = new Map<number, number[][]>();
  const epochPlan = (epoch: number): number[][] => {
    let plan = plans.get(epoch);
    if (plan === undefined) {
      // The KL term pairs each row with another row's completion: a batch of one has no partner.
      plan = planEpoch(lengths, config.batchSize, config.seed + epoch, config.lengthBucketing).filter(
        (b) => !needs.kl || b.length >= 2,
      );
      plans.set(epoch, plan);
    }
    return plan;
  };
  const stepsPerEpoch = Math.ceil(epochPlan(0).length / config.gradAccum);
  const totalSteps = config.maxSteps ?? config.epochs * stepsPerEpoch;
  const microBatches = (step: number): number[][] => {
    const index = step % stepsPerEpoch;
    return epochPlan(Math.floor(step / stepsPerEpoch)).slice(index * config.gradAccum, (index + 1) * config.gradAccum);
  };
  const warmupSteps = config.warmupSteps > 0 ? config.warmupSteps : Math.ceil(config.warmupRatio * totalSteps);
  const schedule: LrSchedule = {
    lr: config.lr,
    schedule: config.schedule,
    warmupSteps,
    totalSteps,
    minLrRatio: config.minLrRatio,
  };

  // ---- model: LoRA on the frozen base, or every weight trainable
  const copyWeights = (w: WeightMap): WeightMap =>
    new Map([...w].map(([name, t]) => [name, { shape: [...t.shape], data: t.data.slice() }]));
  const policy = LlamaModel.fromWeights(hf.config, lora ? hf.weights : copyWeights(hf.weights), { trainable: !lora });
  if (lora) policy.applyLora({ ...config.lora, seed: config.seed });
  const params = policy.trainableParameters();
  const optimizer = new AdamW(params, { lr: config.lr, weightDecay: config.weightDecay });

  // ---- reference log-probs (hf.weights stays the untouched base: LoRA freezes it, full training copies it)
  const referenceMode = config.reference ?? (lora ? "adapter-disabled" : "frozen-copy");
  const baseReference = (): ReferenceScorer =>
    lora && referenceMode !== "frozen-copy"
      ? adapterDisabledReference(policy)
      : frozenModelReference(LlamaModel.fromWeights(hf.config, hf.weights));
  let reference: ReferenceScorer | undefined;
  let evalReference: ReferenceScorer | undefined;
  if (needs.reference) {
    reference = baseReference();
    evalReference = reference;
    if (referenceMode === "cached") {
      const every: ScoredRow[] = [];
      for (let step = 0; step < totalSteps; step++)
        for (const batch of microBatches(step)) every.push(...batchRows(trainSet.data, batch, needs.kl));
      const key = referenceCacheKey(hf.weights, trainSet.data, {
        seed: config.seed,
        batchSize: config.batchSize,
        bucketing: config.lengthBucketing,
        totalSteps,
        kl: needs.kl,
      });
      const cache = await cachedReference(
        config.referenceCache ?? join(out, "reference-cache"),
        key,
        every,
        config.batchSize,
        reference,
      );
      reference = cache.scorer;
      log(`reference: ${cache.hit ? "loaded" : "computed and stored"} ${cache.file}`);
    }
  }

  // ---- resume from the newest complete checkpoint, or start fresh
  const metricsFile = join(out, METRICS_FILE);
  const configHash = resumeHash(config);
  let startStep = 0;
  let resumedFrom: number | undefined;
  if (config.resume) {
    const checkpoint = await loadLatestCheckpoint(out);
    if (checkpoint !== undefined) {
      if (checkpoint.state.dataHash !== dataHash)
        throw new SeapoError(`--resume: ${config.data} differs from the data ${checkpoint.dir} was trained on`);
      if (checkpoint.state.configHash !== configHash)
        throw new SeapoError(
          `--resume: the settings differ from those ${checkpoint.dir} was written with (same loss, data plan, model and optimizer needed)`,
        );
      policy.loadParameters(checkpoint.params);
      optimizer.loadStateDict(checkpoint.optimizer);
      startStep = resumedFrom = checkpoint.state.step;
      await keepMetricsUpTo(metricsFile, startStep);
      log(`resumed from ${checkpoint.dir} (step ${startStep} of ${totalSteps})`);
    }
  } else if (listCheckpoints(out).length > 0) {
    throw new SeapoError(
      `${join(out, CHECKPOINT_DIR)} already holds checkpoints; pass --resume to continue that run, or choose another --out`,
    );
  }
  if (resumedFrom === undefined) rmSync(metricsFile, { force: true });
  const runInfo = {
    config,
    status: "running",
    resolved: {
      referenceMode,
      totalSteps,
      stepsPerEpoch,
      warmupSteps,
      effectiveBatch: config.batchSize * config.gradAccum,
      losses: terms,
    },
    data: {
      file: config.data,
      sha256: dataHash,
      rows: trainSet.data.rows.length,
      kind: trainSet.data.kind,
      rejected: trainSet.rejects,
      dropped: trainSet.dropped,
      truncated: trainSet.truncated,
    },
    versions: { seapo: packageVersion(), node: process.version },
    trainableParameters: [...params.values()].reduce((n, t) => n + t.size, 0),
  } satisfies TrainRunFileInput;
  writeFileAtomic(join(out, RUN_FILE), `${JSON.stringify(runInfo, null, 2)}\n`);

  // ---- the loop
  const metrics = new MetricAccumulator();
  const progress = createProgress("train", totalSteps - startStep);
  let lastMetrics: Record<string, number> = {};
  let tokens = 0;
  let intervalStart = Date.now();
  try {
    for (let step = startStep; step < totalSteps; step++) {
      optimizer.lr = lrAt(step, schedule);
      const batches = microBatches(step);
      policy.train(true);
      for (const [k, batch] of batches.entries()) {
        policy.reseedAdapterDropout(dropoutSeed(config.seed, step, k));
        const result = batchLoss(policy, trainSet.data, batch, terms, needs, reference);
        const value = result.loss.item();
        if (!Number.isFinite(value)) throw diverged(`the loss is ${value}`, step + 1, k, out);
        ops.mul(result.loss, 1 / batches.length).backward();
        metrics.add({ loss: value, ...result.metrics });
        tokens += result.tokens;
      }
      const gradNorm = clipGradNorm(params.values(), config.maxGradNorm > 0 ? config.maxGradNorm : Infinity);
      if (!Number.isFinite(gradNorm)) throw diverged(`the gradient norm is ${gradNorm}`, step + 1, undefined, out);
      metrics.add({ grad_norm: gradNorm });
      optimizer.step();
      optimizer.zeroGrad();
      const done = step + 1;
      progress.increment();

      if (done % config.logEvery === 0 || done === totalSteps) {
        const seconds = (Date.now() - intervalStart) / 1000;
        const line = {
          step: done,
          epoch: done / stepsPerEpoch,
          ...metrics.flush("train"),
          lr: optimizer.lr,
          "tokens/s": tokens / Math.max(seconds, 1e-9),
          elapsed: (Date.now() - started) / 1000,
        } satisfies MetricsLine;
        lastMetrics = line;
        await appendFile(metricsFile, toJsonLines([line]));
        progress.set({ loss: (lastMetrics.loss ?? NaN).toFixed(4), lr: optimizer.lr.toExponential(2) });
        tokens = 0;
        intervalStart = Date.now();
      }

      if (
        evalSet !== undefined &&
        ((config.evalEvery !== undefined && done % config.evalEvery === 0) || done === totalSteps)
      ) {
        policy.train(false);
        const evalPlan = planEpoch(
          evalSet.data.rows.map(rowLength),
          config.batchSize,
          config.seed,
          config.lengthBucketing,
        ).filter((b) => !needs.kl || b.length >= 2);
        for (const batch of evalPlan) {
          const result = noGrad(() => batchLoss(policy, evalSet.data, batch, terms, needs, evalReference));
          metrics.add({ loss: result.loss.item(), ...result.metrics }, "eval" satisfies MetricMode);
        }
        const evalLine = Object.fromEntries(
          Object.entries(metrics.flush("eval")).map(([key, v]) => [`eval/${key}`, v]),
        );
        await appendFile(metricsFile, toJsonLines([{ step: done, ...evalLine } satisfies MetricsLine]));
      }

      if (done % config.saveEvery === 0 && done < totalSteps) {
        const state = { step: done, totalSteps, seed: config.seed, dataHash, configHash };
        await saveCheckpoint(out, state, params, optimizer.stateDict(), config.keepCheckpoints);
      }
    }
  } finally {
    progress.stop();
  }

  // ---- outputs: PEFT adapter, merged HF folder, optional GGUF, run.json
  const outputs: string[] = [METRICS_FILE, RUN_FILE];
  if (lora && config.saveAdapter) {
    const weights: WeightMap = new Map(
      [...policy.adapterParameters()].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }]),
    );
    await saveLoraAdapter(join(out, "adapter"), {
      baseModelPath: config.model,
      rank: config.lora.rank,
      alpha: config.lora.alpha,
      targetModules: [...config.lora.targets],
      dropout: config.lora.dropout,
      weights,
    });
    outputs.push("adapter/");
  }
  if (config.saveMerged || config.gguf !== undefined) {
    if (lora) policy.mergeLora();
    const weights = policy.weights();
    if (config.saveMerged) {
      await saveHfModel(join(out, "model"), { config: hf.config, weights, tokenizer: hf.tokenizer });
      outputs.push("model/");
    }
    if (config.gguf !== undefined) {
      await exportGguf({ config: hf.config, weights, tokenizer: hf.tokenizer }, join(out, "model.gguf"), {
        type: config.gguf,
      });
      outputs.push("model.gguf");
    }
  }
  const finished: TrainRunFileInput = {
    ...runInfo,
    status: "completed",
    resumedFrom,
    elapsedSeconds: (Date.now() - started) / 1000,
    outputs,
    lastMetrics,
  };
  writeFileAtomic(join(out, RUN_FILE), `${JSON.stringify(finished, null, 2)}\n`);
  return { steps: totalSteps, resumedFrom, rows: trainSet.data.rows.length, outputs, lastMetrics };
}

// ---------------------------------------------------------------------------------------------
// one micro-batch

interface BatchResult {
  loss: Tensor;
  metrics: Record<string, number>;
  tokens: number;
}

/**
 * The rows a micro-batch scores, keyed for the reference cache: unpaired items (then, for KTO,
 * the mismatched KL rows), or every chosen then every rejected completion of the pairs.
 */
function batchRows(data: TokenizedRows, batch: readonly number[], kl: boolean): ScoredRow[] {
  if (data.kind === "paired") {
    const pairs = batch.map((i) => ({ i, row: data.rows[i]! }));
    return [
      ...pairs.map(({ i, row }) => ({ prompt: row.prompt, completion: row.chosen, key: `c${i}` })),
      ...pairs.map(({ i, row }) => ({ prompt: row.prompt, completion: row.rejected, key: `r${i}` })),
    ];
  }
  const items = batch.map((i) => ({ prompt: data.rows[i]!.prompt, completion: data.rows[i]!.completion, key: `${i}` }));
  if (!kl) return items;
  const owner = new Map<readonly number[], string>(items.map((item) => [item.completion, item.key]));
  const klRows = ktoKlRows(items).map((row, j) => ({ ...row, key: `${items[j]!.key}>${owner.get(row.completion)!}` }));
  return [...items, ...klRows];
}

function batchLoss(
  policy: LlamaModel,
  data: TokenizedRows,
  batch: readonly number[],
  terms: readonly LossTerm[],
  needs: LossRequirements,
  reference: ReferenceScorer | undefined,
): BatchResult {
  const rows = batchRows(data, batch, needs.kl);
  const B = batch.length;
  const vector = (values: ArrayLike<number>): Tensor => new Tensor(Float32Array.from(values), [values.length]);
  const main = rows.slice(0, data.kind === "paired" ? 2 * B : B);
  const tokens = main.reduce((n, r) => n + r.prompt.length + r.completion.length, 0);
  const policyLogps = completionLogps(policy, main); // (B) or (2B)
  const referenceLogps = reference?.(main);

  let inputs: LossInputs;
  if (data.kind === "unpaired") {
    inputs = { policy_logps: policyLogps, labels: vector(batch.map((i) => (data.rows[i]!.label ? 1 : 0))) };
    if (referenceLogps !== undefined) inputs = { ...inputs, reference_logps: vector(referenceLogps) };
    if (needs.kl) {
      const klRows = rows.slice(B);
      const klPolicy = noGrad(() => completionLogps(policy, klRows));
      inputs = {
        ...inputs,
        kl_policy_logps: new Tensor(klPolicy.data.slice(), [B]),
        kl_reference_logps: vector(reference!(klRows)),
      };
    }
  } else {
    const chosenLengths = batch.map((i) => data.rows[i]!.chosen.length);
    const chosen = ops.slice(policyLogps, 0, 0, B);
    inputs = {
      policy_chosen_logps: chosen,
      policy_rejected_logps: ops.slice(policyLogps, 0, B, 2 * B),
      chosen_lengths: vector(chosenLengths),
      rejected_lengths: vector(batch.map((i) => data.rows[i]!.rejected.length)),
      nll_chosen: ops.mul(ops.sum(chosen), -1 / chosenLengths.reduce((a, b) => a + b, 0)),
    };
    if (referenceLogps !== undefined) {
      inputs = {
        ...inputs,
        reference_chosen_logps: vector(referenceLogps.subarray(0, B)),
        reference_rejected_logps: vector(referenceLogps.subarray(B)),
      };
    }
  }
  const combined = combineLosses(terms, inputs);
  return { loss: combined.loss, metrics: combined.metrics, tokens };
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Seed of the dropout masks of micro-batch k of a step: a function of the position only. */
function dropoutSeed(seed: number, step: number, k: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 1;
}

/**
 * A non-finite value at `step` (1-based) came from the weights after step − 1 updates, so a
 * checkpoint of exactly those weights is not good: it is moved to checkpoints/diverged-step-N (kept
 * for inspection, out of --resume's way) and the newest earlier checkpoint is named instead.
 */
function diverged(what: string, step: number, microBatch: number | undefined, out: string): SeapoError {
  const where = microBatch === undefined ? `step ${step}` : `step ${step} (micro-batch ${microBatch + 1})`;
  const suspect = join(out, CHECKPOINT_DIR, checkpointName(step - 1));
  let setAside = "";
  if (existsSync(suspect)) {
    const aside = join(out, CHECKPOINT_DIR, `diverged-${checkpointName(step - 1)}`);
    rmSync(aside, { recursive: true, force: true });
    renameSync(suspect, aside);
    setAside = ` ${suspect} holds the weights that gave it and was moved to ${aside}.`;
  }
  const good = listCheckpoints(out).at(-1);
  const lastGood = good === undefined ? "none" : join(out, CHECKPOINT_DIR, checkpointName(good));
  return new SeapoError(
    `training stopped: ${what} at ${where}. Nothing from this step was saved.${setAside} The last good checkpoint is ${lastGood}. ` +
      "Lower --lr, check the data, or keep --max-grad-norm on, and train again into a new --out (--resume keeps every setting, so it would repeat these steps).",
  );
}

/** A resumed run rewrites the steps after its checkpoint, so their old lines go. */
async function keepMetricsUpTo(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const kept = (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => (JSON.parse(line) as { step: number }).step <= step);
  await writeFile(file, kept.map((line) => `${line}\n`).join(""));
}
