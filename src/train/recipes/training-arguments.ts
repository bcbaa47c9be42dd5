/**
 * The hyperparameters both targets read from transformers' TrainingArguments, as transformers 5.x
 * has them (src/transformers/training_args.py; the field list is
 * test/train/fixtures/transformers-training-arguments.json). 5.x took warmup_ratio's job into
 * warmup_steps (below 1 it is a share of the steps) and marks warmup_ratio for removal in v5.2.
 */
import { SeapoError } from "../../errors.js";
import type { TrainConfig } from "../config.js";
import { RECIPE_FILES, type Keys } from "./common.js";

/** Our schedule in transformers' terms: cosine/linear decay to lr·minLrRatio after linear warm-up. */
export function scheduleKeys(config: TrainConfig): Keys {
  let schedule: Keys;
  if (config.schedule === "constant")
    schedule = {
      lr_scheduler_type: config.warmupSteps > 0 || config.warmupRatio > 0 ? "constant_with_warmup" : "constant",
    };
  else if (config.minLrRatio === 0) schedule = { lr_scheduler_type: config.schedule };
  else if (config.schedule === "cosine")
    schedule = { lr_scheduler_type: "cosine_with_min_lr", lr_scheduler_kwargs: { min_lr_rate: config.minLrRatio } };
  else
    throw new SeapoError(
      `--schedule linear --min-lr-ratio ${config.minLrRatio}: transformers' linear schedule always ends at 0; use cosine, or --min-lr-ratio 0`,
    );
  // Like lrAt: warmupSteps wins; otherwise the ratio, which transformers 5.x takes in warmup_steps
  // (ceil(ratio · total steps), as lrAt computes it).
  const warmup: Keys = { warmup_steps: config.warmupSteps > 0 ? config.warmupSteps : config.warmupRatio };
  return { ...schedule, ...warmup };
}

export function trainingKeys(config: TrainConfig, evaluate: boolean): Keys {
  return {
    learning_rate: config.lr,
    ...scheduleKeys(config),
    num_train_epochs: config.epochs,
    ...(config.maxSteps === undefined ? {} : { max_steps: config.maxSteps }),
    per_device_train_batch_size: config.batchSize,
    gradient_accumulation_steps: config.gradAccum,
    weight_decay: config.weightDecay,
    max_grad_norm: config.maxGradNorm,
    seed: config.seed,
    bf16: true,
    logging_steps: config.logEvery,
    save_steps: config.saveEvery,
    save_total_limit: config.keepCheckpoints,
    ...(evaluate
      ? {
          per_device_eval_batch_size: config.batchSize,
          eval_strategy: config.evalEvery === undefined ? "epoch" : "steps",
          ...(config.evalEvery === undefined ? {} : { eval_steps: config.evalEvery }),
        }
      : {}),
    output_dir: RECIPE_FILES.outputDir,
    report_to: "none",
  };
}

/** What the README says about the TrainingArguments written. */
export function trainingNotes(config: TrainConfig): string[] {
  if (config.warmupSteps > 0 || config.warmupRatio === 0) return [];
  return [
    `\`warmup_steps: ${config.warmupRatio}\` is a share of the steps in transformers 5.x, which these keys are written for; transformers 4.x reads it as a step count: there, write \`warmup_ratio: ${config.warmupRatio}\` instead.`,
  ];
}
