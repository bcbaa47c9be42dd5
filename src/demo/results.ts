/**
 * The shape of `results.json`, the one file a `seapo demo` run leaves for the report and for
 * anyone comparing runs. One zod schema: the demo writes through it and `seapo report` reads
 * through it, so the two cannot drift apart.
 */
import { z } from "zod";
import { BUILTIN_ERROR_TYPES, type BuiltinErrorType } from "../negatives/index.js";

/** Mean and spread (sample standard deviation; 0 with one seed) of one figure over seeds. */
export const spreadSchema = z.strictObject({
  mean: z.number(),
  std: z.number().min(0),
  perSeed: z.array(z.number()),
});
export type Spread = z.infer<typeof spreadSchema>;

/** The keys of an error mix: `correct`, then every built-in error type in the table's order. */
export const ERROR_MIX_KEYS = ["correct", ...BUILTIN_ERROR_TYPES] as const;

const share = z.number().min(0).max(1);
/** Share of a model's test answers that are correct or show each error type (sums to 1). */
export const errorMixSchema = z.strictObject({
  correct: share,
  ...(Object.fromEntries(BUILTIN_ERROR_TYPES.map((type) => [type, share])) as Record<BuiltinErrorType, typeof share>),
});
export type ErrorMix = z.infer<typeof errorMixSchema>;

/** An error mix whose every share comes from `shareOf`, in the keys' order. */
export function errorMixOf(shareOf: (key: keyof ErrorMix) => number): ErrorMix {
  return Object.fromEntries(ERROR_MIX_KEYS.map((key) => [key, shareOf(key)])) as ErrorMix;
}

/** One logged training step of one seed's run. */
export const curvePointSchema = z.strictObject({
  step: z.number().int().min(0),
  loss: z.number(),
  /** rewards/margins (DPO) or desirable minus undesirable reward (KTO). */
  margin: z.number(),
  /** logps/chosen and logps/rejected of the step (summed over each answer's tokens, batch mean), when logged. */
  chosenLogp: z.number().optional(),
  rejectedLogp: z.number().optional(),
});
export type CurvePoint = z.infer<typeof curvePointSchema>;

export const armSchema = z.strictObject({
  /** Unique and readable, e.g. `base`, `vanilla-kto`, `seapo-mixed-dpo`. */
  name: z.string().min(1),
  method: z.enum(["base", "vanilla", "seapo"]),
  /** The injection strategy of a SeaPO arm: single:<type>, mixed or most-common. */
  strategy: z.string().optional(),
  loss: z.enum(["kto", "dpo", "multi"]).optional(),
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
  /**
   * Per seed: mean per-token log-prob of validation items' gold answers under the arm's model, and under
   * the base model (`before`); after − before < 0 while the margin grows is likelihood displacement.
   */
  heldOutGold: z
    .array(z.strictObject({ seed: z.number().int(), before: z.number().nullable(), after: z.number().nullable() }))
    .optional(),
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

const intervalSchema = z.strictObject({ estimate: z.number(), low: z.number(), high: z.number(), se: z.number() });
const dimensionIntervalsSchema = z.strictObject({
  perDimension: z.record(z.string(), intervalSchema),
  average: intervalSchema,
});
/** Paired-bootstrap intervals (src/demo/bootstrap.ts): accuracy per arm, and arm − reference differences. */
export const uncertaintySchema = z.strictObject({
  method: z.string(),
  replicates: z.number().int().positive(),
  level: z.number().positive().max(1),
  seed: z.number().int(),
  accuracy: z.record(z.string(), dimensionIntervalsSchema),
  differences: z.array(
    z.strictObject({ arm: z.string(), reference: z.string() }).extend(dimensionIntervalsSchema.shape),
  ),
});
export type Uncertainty = z.infer<typeof uncertaintySchema>;

/** What the vanilla pairs were, as the checker sees them (chosen / rejected right or wrong), per seed. */
export const vanillaPairsSchema = z.strictObject({
  seed: z.number().int(),
  pairs: z.number().int().min(0),
  /** Chosen right, rejected wrong: the pairs that teach what they should. */
  informative: z.number().int().min(0),
  /** Near-ties: both answers right, or both wrong. */
  bothRight: z.number().int().min(0),
  bothWrong: z.number().int().min(0),
  /** Chosen wrong, rejected right: the noisy reward ranked them the wrong way round. */
  reversed: z.number().int().min(0),
});
export type VanillaPairs = z.infer<typeof vanillaPairsSchema>;

const scoredSetSchema = z.strictObject({ mean: z.number().nullable(), n: z.number().int().min(0) });
/** The base model's mean per-token log-prob of SeaPO's negatives against its own sampled wrong answers, per seed. */
export const plausibilitySchema = z.strictObject({
  seed: z.number().int(),
  gold: scoredSetSchema,
  seapo: scoredSetSchema,
  seapoByType: z.record(z.string(), scoredSetSchema),
  sampledWrong: scoredSetSchema,
});

export const demoResultsSchema = z.strictObject({
  /** 1: before per-item outcomes; 2 adds testItems, outcomes, uncertainty, vanilla and verdict (all optional to read). */
  version: z.union([z.literal(1), z.literal(2)]),
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
  /** The test items every arm was scored on, in the order of each `outcomes` string. */
  testItems: z.array(z.strictObject({ id: z.string(), dimension: z.string() })).optional(),
  /** Per arm and seed, one character per test item: "1" right, "0" wrong (the base model's row repeats per seed). */
  outcomes: z
    .array(z.strictObject({ arm: z.string(), seed: z.number().int(), correct: z.string().regex(/^[01]*$/) }))
    .optional(),
  uncertainty: uncertaintySchema.optional(),
  vanilla: z
    .strictObject({
      /** Standard deviation of the Gaussian noise on the checker's 0/1 verdict, why it is set so, and what it implies. */
      rewardNoise: z.strictObject({
        sigma: z.number().min(0),
        expectedReversedShare: z.number(),
        rationale: z.string(),
      }),
      perSeed: z.array(vanillaPairsSchema),
    })
    .optional(),
  /** The three lines `seapo demo` prints at the end: mixed SeaPO against vanilla and base, with intervals. */
  verdict: z.array(z.string()).optional(),
  /** The world the items came from: its version (src/demo/world/versions.ts) and seed. */
  world: z.strictObject({ version: z.number().int().positive(), seed: z.number().int() }).optional(),
  /** The negative-plausibility statistic (src/demo/likelihood.ts), per seed. */
  plausibility: z.array(plausibilitySchema).optional(),
});
export type DemoResults = z.infer<typeof demoResultsSchema>;

export const RESULTS_FILE = "results.json";
export const REPORT_FILE = "report.html";
