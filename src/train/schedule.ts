/**
 * What step k of a run does: which micro-batches it reads and at which learning rate. Both are
 * pure functions of the data, the settings and k, which is what makes --resume exact.
 */
import type { TrainConfig } from "./config.js";
import { planEpoch, rowLength, type TokenizedRows } from "./data.js";

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

type PlanSettings = Pick<TrainConfig, "batchSize" | "seed" | "lengthBucketing">;

/**
 * Seeded, length-bucketed micro-batches of one pass over `data`. The KL term pairs each row with
 * another row's completion, so with `kl` a batch of one (no partner) is left out.
 */
export function epochBatches(data: TokenizedRows, settings: PlanSettings, seed: number, kl: boolean): number[][] {
  return planEpoch(data.rows.map(rowLength), settings.batchSize, seed, settings.lengthBucketing).filter(
    (b) => !kl || b.length >= 2,
  );
}

export interface StepPlan {
  stepsPerEpoch: number;
  totalSteps: number;
  /** The gradAccum micro-batches (row indices) of optimizer step `step` (0-based). */
  microBatches(step: number): number[][];
  schedule: LrSchedule;
}

/** A step is gradAccum micro-batches; epoch e is planned with seed + e. */
export function planSteps(data: TokenizedRows, config: TrainConfig, kl: boolean): StepPlan {
  const plans = new Map<number, number[][]>();
  const epochPlan = (epoch: number): number[][] => {
    let plan = plans.get(epoch);
    if (plan === undefined) {
      plan = epochBatches(data, config, config.seed + epoch, kl);
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
  return { stepsPerEpoch, totalSteps, microBatches, schedule };
}
