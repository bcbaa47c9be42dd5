/**
 * The shape of `results.json`, the one file a `seapo demo` run leaves for the report and for
 * anyone comparing runs. One zod schema: the demo writes through it and `seapo report` reads
 * through it, so the two cannot drift apart.
 */
import { z } from "zod";

/** Mean and spread (sample standard deviation; 0 with one seed) of one figure over seeds. */
export const spreadSchema = z.strictObject({
  mean: z.number(),
  std: z.number().min(0),
  perSeed: z.array(z.number()),
});
export type Spread = z.infer<typeof spreadSchema>;

/** Share of a model's test answers that are correct or show each error type (sums to 1). */
export const errorMixSchema = z.strictObject({
  correct: z.number().min(0).max(1),
  correctness: z.number().min(0).max(1),
  logic: z.number().min(0).max(1),
  hallucination: z.number().min(0).max(1),
});
export type ErrorMix = z.infer<typeof errorMixSchema>;

/** One logged training step of one seed's run. */
export const curvePointSchema = z.strictObject({
  step: z.number().int().min(0),
  loss: z.number(),
  /** rewards/margins (DPO) or desirable minus undesirable reward (KTO). */
  margin: z.number(),
});

export const armSchema = z.strictObject({
  /** Unique and readable, e.g. `base`, `vanilla-kto`, `seapo-mixed-dpo`. */
  name: z.string().min(1),
  method: z.enum(["base", "vanilla", "seapo"]),
  /** The injection strategy of a SeaPO arm: single:<type>, mixed or most-common. */
  strategy: z.string().optional(),
  loss: z.enum(["kto", "dpo"]).optional(),
  /** Accuracy per dimension (keys: knowledge, math, reasoning, truthfulness, code). */
  scores: z.record(z.string(), spreadSchema),
  /** TruthfulQA-style multiple-choice scores on the truthfulness dimension. */
  mc1: spreadSchema.optional(),
  mc2: spreadSchema.optional(),
  /** Mean over dimensions of `scores`. */
  average: spreadSchema,
  errorMix: errorMixSchema,
  /** Per seed: the logged training steps (empty for base). */
  curves: z.array(z.strictObject({ seed: z.number().int(), points: z.array(curvePointSchema) })),
  /** Training rows used per seed (0 for base). */
  trainRows: z.number().int().min(0),
});
export type ArmResult = z.infer<typeof armSchema>;

export const exampleSchema = z.strictObject({
  errorType: z.string().min(1),
  dimension: z.string().min(1),
  prompt: z.string(),
  positive: z.string(),
  negative: z.string(),
});
export type InjectionExample = z.infer<typeof exampleSchema>;

export const demoResultsSchema = z.strictObject({
  version: z.literal(1),
  /** The resolved configuration of the run (seeds, steps, learning rates, sizes …). */
  config: z.record(z.string(), z.unknown()),
  seeds: z.array(z.number().int()),
  dimensions: z.array(z.string()),
  arms: z.array(armSchema).min(1),
  /** The base model's error-type distribution, as `seapo analyze` measured it (drives most-common). */
  analysis: z.strictObject({
    answers: z.number().int().min(0),
    wrong: z.number().int().min(0),
    byType: z.record(z.string(), z.number().int().min(0)),
  }),
  examples: z.array(exampleSchema),
  /** Wall time per stage, in run order. */
  timings: z.array(z.strictObject({ stage: z.string(), seconds: z.number().min(0) })),
  finishedAt: z.string(),
});
export type DemoResults = z.infer<typeof demoResultsSchema>;

export const RESULTS_FILE = "results.json";
export const REPORT_FILE = "report.html";
