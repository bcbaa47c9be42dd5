/** The hyperparameters both targets read from transformers' TrainingArguments. */
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
  // Like lrAt: warmupSteps wins; otherwise ceil(warmupRatio · total steps), as transformers computes it.
  const warmup: Keys =
    config.warmupSteps > 0
      ? { warmup_steps: config.warmupSteps }
      : config.warmupRatio > 0
        ? { warmup_ratio: config.warmupRatio }
        : { warmup_steps: 0 };
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
