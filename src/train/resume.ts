/**
 * Continuing a run: the settings a checkpoint must share with the run resuming it, loading it, and
 * what a diverged step leaves behind.
 */
import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SeapoError } from "../errors.js";
import { readRecords, toJsonLines, writeFileAtomic } from "../io/index.js";
import { CHECKPOINT_DIR, checkpointName, listCheckpoints, loadLatestCheckpoint } from "./checkpoint.js";
import type { TrainConfig } from "./config.js";
import type { MetricsLine } from "./files.js";
import type { Learner } from "./step.js";

/** Settings a resumed run must share with the run that wrote the checkpoint. */
export function resumeHash(config: TrainConfig): string {
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

/**
 * With --resume, loads the newest checkpoint of --out into the learner (refusing one written from
 * other data or settings) and returns its step; without, refuses an --out that holds checkpoints.
 * Either way the metrics file is left with the lines of the steps before the start only.
 */
export async function resumeOrStart(
  config: TrainConfig,
  learner: Learner,
  run: { dataHash: string; configHash: string; totalSteps: number; metricsFile: string },
  log: (line: string) => void,
): Promise<number | undefined> {
  const out = config.out;
  if (!config.resume) {
    if (listCheckpoints(out).length > 0)
      throw new SeapoError(
        `${join(out, CHECKPOINT_DIR)} already holds checkpoints; pass --resume to continue that run, or choose another --out`,
      );
    rmSync(run.metricsFile, { force: true });
    return undefined;
  }
  const checkpoint = await loadLatestCheckpoint(out);
  if (checkpoint === undefined) {
    rmSync(run.metricsFile, { force: true });
    return undefined;
  }
  if (checkpoint.state.dataHash !== run.dataHash)
    throw new SeapoError(`--resume: ${config.data} differs from the data ${checkpoint.dir} was trained on`);
  if (checkpoint.state.configHash !== run.configHash)
    throw new SeapoError(
      `--resume: the settings differ from those ${checkpoint.dir} was written with (same loss, data plan, model and optimizer needed)`,
    );
  learner.policy.loadParameters(checkpoint.params);
  learner.optimizer.loadStateDict(checkpoint.optimizer);
  const step = checkpoint.state.step;
  await keepMetricsUpTo(run.metricsFile, step);
  log(`resumed from ${checkpoint.dir} (step ${step} of ${run.totalSteps})`);
  return step;
}

/** A resumed run rewrites the steps after its checkpoint, so their old lines go. */
async function keepMetricsUpTo(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const kept: MetricsLine[] = [];
  for await (const line of readRecords<MetricsLine>(file)) if (line.step <= step) kept.push(line);
  writeFileAtomic(file, toJsonLines(kept));
}

/**
 * A non-finite value at `step` (1-based) came from the weights after step − 1 updates, so a
 * checkpoint of exactly those weights is not good: it is moved to checkpoints/diverged-step-N (kept
 * for inspection, out of --resume's way) and the newest earlier checkpoint is named instead.
 */
export function diverged(what: string, step: number, microBatch: number | undefined, out: string): SeapoError {
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
