/**
 * The files `seapo eval` writes, one zod schema each: the writers build values of these types and
 * the readers (readResults, readSamples, `seapo report`) check files against the same schemas.
 */
import { z } from "zod";
import { evalRequestSchema, evalResponseSchema } from "./requests.js";
import { sandboxIsolationSchema } from "./sandbox.js";
import { DIMENSIONS } from "./types.js";

/** The evaluation harnesses a results file can come from. */
export const HARNESSES = ["lm-eval", "seapo-paper"] as const;
export type Harness = (typeof HARNESSES)[number];

/** Who produced the numbers: a server (base URL + model id) or a local weights file (path + sha256). */
export const modelIdentitySchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("openai-compatible"),
    provider: z.string(),
    modelId: z.string(),
    baseURL: z.string(),
    model: z.string(),
  }),
  z.object({
    kind: z.enum(["gguf", "hf"]),
    provider: z.string(),
    modelId: z.string(),
    path: z.string(),
    sha256: z.string(),
  }),
  z.object({ kind: z.literal("other"), provider: z.string(), modelId: z.string() }),
]);
export type ModelIdentity = z.output<typeof modelIdentitySchema>;

/** A metric as the file holds it: a task without examples has no value (NaN is written as null). */
const metricValueSchema = z.object({ value: z.number().nullable(), stderr: z.number().nullable() });
const metricTableSchema = z.object({ n: z.number(), metrics: z.record(z.string(), metricValueSchema) });

/** One task's scores. `seapo eval` writes every field; comparing needs only n and the metrics. */
const taskResultSchema = metricTableSchema.extend({
  dimension: z.enum(DIMENSIONS).optional(),
  description: z.string().optional(),
  harnessTask: z.string().optional(),
  /** The harness's metadata.version of the task; files written before it was recorded lack it. */
  harnessVersion: z.string().optional(),
  numFewshot: z.number().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  groups: z.record(z.string(), metricTableSchema).optional(),
  subtasks: z.record(z.string(), metricTableSchema).optional(),
});

/** A task a batch run could not score yet: its examples still waiting for results. */
const pendingTaskSchema = z.object({ examples: z.number(), of: z.number(), requests: z.number() });
export type PendingTask = z.output<typeof pendingTaskSchema>;
/** A task not run with batch files (it scores by log-likelihood), with its request count and why. */
const skippedTaskSchema = z.object({ requests: z.number(), reason: z.string() });
export type SkippedTask = z.output<typeof skippedTaskSchema>;

/** One server's counts when the model ran on several (--endpoints, repeated --base-url). */
const endpointStatsSchema = z.object({
  url: z.string(),
  model: z.string(),
  weight: z.number(),
  requests: z.number(),
  errors: z.number(),
  cooldowns: z.number(),
  latencyMs: z.object({ p50: z.number(), p95: z.number() }),
  tokens: z.object({ input: z.number(), output: z.number() }),
});

/** results.json: the scores with everything needed to reproduce them. */
export const evalResultsSchema = z.object({
  format: z.literal("seapo-eval-results"),
  formatVersion: z.literal(1),
  seapoVersion: z.string(),
  promptFormatVersion: z.string(),
  /**
   * Whose prompts and scoring: "lm-eval" (lm-evaluation-harness) or "seapo-paper" (the SeaPO
   * release's modified open-instruct); files written before the field existed are lm-eval runs,
   * which is what they read back as.
   */
  harness: z.enum(HARNESSES).default("lm-eval"),
  /** The harness commit the prompts were checked against (absent in older files). */
  harnessCommit: z.string().optional(),
  createdAt: z.string(),
  model: modelIdentitySchema,
  config: z.record(z.string(), z.unknown()),
  /** The data folder and the sha256 of every file read, by path relative to it. */
  data: z.object({ dir: z.string(), files: z.record(z.string(), z.string()) }),
  sandbox: sandboxIsolationSchema.optional(),
  requests: z.object({ total: z.number(), cacheHits: z.number().optional(), cacheMisses: z.number().optional() }),
  durationMs: z.number(),
  results: z.record(z.string(), taskResultSchema),
  /** Runs with batch files: the tasks not scored yet (absent from results) and those not run. */
  pending: z
    .object({
      requests: z.number(),
      tasks: z.record(z.string(), pendingTaskSchema),
      skipped: z.record(z.string(), skippedTaskSchema),
    })
    .optional(),
  /** --batch-out / --batch-in: results used, failed or missing (left pending), request lines written. */
  batch: z
    .object({
      used: z.number(),
      failed: z.number(),
      missing: z.number(),
      written: z.number(),
      files: z.array(z.string()),
    })
    .optional(),
  endpoints: z.array(endpointStatsSchema).optional(),
});
export type ResultsFile = z.output<typeof evalResultsSchema>;

/** One line of <out>.samples.jsonl (--log-samples): an example's prompts, answers and scores. */
export const evalSampleSchema = z.object({
  task: z.string(),
  id: z.string(),
  subtask: z.string().optional(),
  target: z.string(),
  requests: z.array(evalRequestSchema),
  responses: z.array(evalResponseSchema),
  metrics: z.record(z.string(), z.number()),
  /** What the scorer read out of the responses. */
  extracted: z.unknown().optional(),
});
export type SampleLine = z.output<typeof evalSampleSchema>;
/** One example as the run keeps it for --log-samples; the file adds the task's name. */
export type SampleRecord = Omit<SampleLine, "task">;
