/**
 * The files `seapo train` leaves in --out for others to read (the report, the demo, people), each
 * with one zod schema: the trainer builds its objects typed from it and readers parse with it, so
 * the two cannot drift apart. (Checkpoint state and the reference cache keep their schemas beside
 * their code in checkpoint.ts and reference.ts.)
 */
import { z } from "zod";
import { trainConfigSchema, REFERENCE_MODES } from "./config.js";
import { LOSS_NAMES } from "./losses/index.js";

export const METRICS_FILE = "metrics.jsonl";
export const RUN_FILE = "run.json";

/** The prefix of evaluation metrics, as transformers' Trainer writes them (eval_loss, eval_rewards/margins). */
export const EVAL_PREFIX = "eval_";

/**
 * One metrics.jsonl line: the step and TRL-named numbers (loss, rewards/*, logps/*, logits/*,
 * entropy, grad_norm, learning_rate, tokens/s, elapsed; eval_* on eval lines; docs/training.md
 * lists them). JSON has no NaN, so a NaN is written and read as null.
 */
export const metricsLineSchema = z.object({ step: z.number().int().min(0) }).catchall(z.number().nullable());
export type MetricsLine = z.infer<typeof metricsLineSchema>;

const lossTermSchema = z.object({
  name: z.enum(LOSS_NAMES),
  weight: z.number().optional(),
  params: z.record(z.string(), z.number()).optional(),
});

/**
 * run.json: written with status "running" before the first step and rewritten with "completed"
 * (and the fields after `trainableParameters`) when the outputs are on disk. Unknown keys are kept
 * so a newer trainer's file still reads.
 */
export const trainRunFileSchema = z.looseObject({
  config: trainConfigSchema,
  status: z.enum(["running", "completed"]),
  resolved: z.looseObject({
    referenceMode: z.enum(REFERENCE_MODES),
    totalSteps: z.number().int().min(0),
    stepsPerEpoch: z.number().int().min(0),
    warmupSteps: z.number().int().min(0),
    /** batchSize × gradAccum. */
    effectiveBatch: z.number().int().positive(),
    losses: z.array(lossTermSchema),
  }),
  data: z.looseObject({
    file: z.string(),
    sha256: z.string(),
    rows: z.number().int().min(0),
    kind: z.enum(["paired", "unpaired", "listwise"]),
    rejected: z.number().int().min(0),
    dropped: z.number().int().min(0),
    truncated: z.number().int().min(0),
  }),
  versions: z.looseObject({ seapo: z.string(), node: z.string() }),
  trainableParameters: z.number().int().min(0),
  /** The checkpoint step this run continued from, when it was resumed. */
  resumedFrom: z.number().int().min(0).optional(),
  elapsedSeconds: z.number().min(0).optional(),
  /** Names under --out, e.g. metrics.jsonl, adapter/, model/. */
  outputs: z.array(z.string()).optional(),
  /** The last metrics line of the train split ({} when the run had no step left to do). */
  lastMetrics: z.record(z.string(), z.number().nullable()).optional(),
});
export type TrainRunFile = z.infer<typeof trainRunFileSchema>;
/** What the trainer writes (the config as parsed, before the schema's defaults would apply). */
export type TrainRunFileInput = z.input<typeof trainRunFileSchema>;
