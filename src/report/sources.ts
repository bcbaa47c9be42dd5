/**
 * Reads what a run directory holds for the report: each file seapo writes, validated with zod, so
 * a bad file stops the report with its name (and line, for JSONL) instead of drawing nonsense.
 */
import { existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { demoResultsSchema, RESULTS_FILE, type DemoResults } from "../demo/index.js";
import { InputError } from "../errors.js";
import { readResults, type TabulatedResults } from "../eval/results.js";
import { exportFiles } from "../negatives/datasets.js";
import { journalFiles } from "../negatives/inject.js";
import { analysisSchema } from "../negatives/strategy.js";
import { rejectReasons } from "../negatives/verify.js";
import { trainConfigSchema } from "../train/config.js";
import { METRICS_FILE, RUN_FILE } from "../train/train.js";
import { readJsonLines } from "../io/index.js";

export const ANALYSIS_FILE = "analysis.json";
const EVAL_FORMAT = "seapo-eval-results";

/** The files the report knows, in the order the sections appear. */
export const REPORT_SOURCES = [
  RESULTS_FILE,
  METRICS_FILE,
  RUN_FILE,
  journalFiles.negatives,
  exportFiles.stats,
  journalFiles.rejects,
  ANALYSIS_FILE,
  "*.json written by seapo eval",
] as const;

// ---- schemas for files whose writers have none (shapes from src/train/train.ts and src/negatives/*.ts)

/** One metrics.jsonl line: the step and TRL-named numbers (NaN is written as null). */
const metricsLineSchema = z.object({ step: z.number().int().min(0) }).catchall(z.number().nullable());
export type MetricsLine = z.infer<typeof metricsLineSchema>;

const runFileSchema = z.looseObject({
  config: trainConfigSchema,
  status: z.string().optional(),
  resolved: z.looseObject({ totalSteps: z.number().optional(), effectiveBatch: z.number().optional() }).optional(),
  data: z
    .looseObject({ file: z.string().optional(), rows: z.number().optional(), kind: z.string().optional() })
    .optional(),
  elapsedSeconds: z.number().optional(),
});
export type TrainRunFile = z.infer<typeof runFileSchema>;

/** inject and analyze keep their settings in run.json too (src/negatives/run-manifest.ts). */
const manifestSchema = z.looseObject({ identity: z.record(z.string(), z.unknown()), command: z.string().optional() });
export type RunManifest = z.infer<typeof manifestSchema>;

const counts = z.record(z.string(), z.number().int().min(0));
const statsSchema = z.looseObject({
  accepted: z.number().int().min(0),
  rejected: z.number().int().min(0),
  acceptedByType: counts,
  rejectsByReason: counts,
  rejectsByType: counts,
  pairs: z.number().int().min(0).optional(),
});
export type InjectStats = z.infer<typeof statsSchema>;

const negativeLineSchema = z.looseObject({
  sourceId: z.string(),
  errorType: z.string().min(1),
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
});
const rejectLineSchema = z.looseObject({ reason: z.enum(rejectReasons), errorType: z.string().optional() });

const analysisFileSchema = analysisSchema.extend({
  total: z.number().int().min(0).optional(),
  correct: z.number().int().min(0).optional(),
  wrong: z.number().int().min(0).optional(),
  unclassified: z.number().int().min(0).optional(),
  counts: counts.optional(),
  mostCommon: z.string().nullable().optional(),
});
export type AnalysisFile = z.infer<typeof analysisFileSchema>;

export interface Example {
  errorType: string;
  dimension?: string;
  prompt: string;
  positive: string;
  negative: string;
}

export interface InjectSource {
  stats: InjectStats;
  /** The first few accepted negatives, for the examples table. */
  examples: Example[];
}

export interface ReportSources {
  dir: string;
  /** File names found, relative to dir. */
  found: string[];
  demo?: DemoResults;
  train?: { metrics: MetricsLine[]; run?: TrainRunFile };
  inject?: InjectSource;
  analysis?: AnalysisFile;
  evals: Array<{ file: string; results: TabulatedResults }>;
  /** The run.json of seapo inject or analyze: the settings the journals were made with. */
  manifest?: RunManifest;
}

const EXAMPLES_SHOWN = 5;

export async function readSources(dir: string): Promise<ReportSources> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(dir, undefined, undefined, "no such directory");
  const has = (name: string) => existsSync(join(dir, name));
  const sources: ReportSources = { dir, found: [], evals: [] };

  // results.json is the demo's file, unless `seapo eval --out results.json` wrote it.
  const jsonFiles = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
  for (const name of jsonFiles) {
    if ([RUN_FILE, exportFiles.stats, ANALYSIS_FILE].includes(name)) continue;
    // Other .json files may be anyone's: only results.json must parse.
    const value = await readJson(join(dir, name), name === RESULTS_FILE);
    if (isEvalResults(value)) {
      sources.evals.push({ file: name, results: await readResults(join(dir, name)) });
      sources.found.push(name);
    } else if (name === RESULTS_FILE) {
      sources.demo = parse(
        demoResultsSchema,
        value,
        join(dir, name),
        undefined,
        "expected the results.json that `seapo demo` writes",
      );
      sources.found.push(name);
    }
  }

  let run: TrainRunFile | undefined;
  if (has(RUN_FILE)) {
    const file = join(dir, RUN_FILE);
    const value = await readJson(file);
    if (typeof value === "object" && value !== null && "identity" in value) {
      sources.manifest = parse(
        manifestSchema,
        value,
        file,
        undefined,
        "expected the run.json of seapo inject or analyze",
      );
    } else {
      run = parse(runFileSchema, value, file, undefined, "expected the run.json that `seapo train` writes");
    }
    sources.found.push(RUN_FILE);
  }
  if (has(METRICS_FILE) || run !== undefined) {
    const hint = "expected metrics.jsonl lines written by `seapo train`";
    const metrics = has(METRICS_FILE) ? await readJsonl(join(dir, METRICS_FILE), metricsLineSchema, hint) : [];
    sources.train = { metrics, run };
    if (has(METRICS_FILE)) sources.found.push(METRICS_FILE);
  }

  const injectFiles = [journalFiles.negatives, exportFiles.stats, journalFiles.rejects].filter(has);
  if (injectFiles.length > 0) {
    sources.inject = await readInject(dir);
    sources.found.push(...injectFiles);
  }

  if (has(ANALYSIS_FILE)) {
    const file = join(dir, ANALYSIS_FILE);
    sources.analysis = parse(
      analysisFileSchema,
      await readJson(file),
      file,
      undefined,
      "expected the analysis.json that `seapo analyze` writes",
    );
    sources.found.push(ANALYSIS_FILE);
  }

  if (sources.found.length === 0) {
    const problem = `nothing to report: none of ${REPORT_SOURCES.join(", ")} is in this directory`;
    throw new InputError(
      dir,
      undefined,
      undefined,
      problem,
      "point seapo report at the --out folder of seapo demo, train, inject, analyze or eval",
    );
  }
  return sources;
}

/** Counts come from stats.json when inject wrote it, else from the journals themselves. */
async function readInject(dir: string): Promise<InjectSource> {
  const examples: Example[] = [];
  const acceptedByType: Record<string, number> = {};
  const rejectsByReason: Record<string, number> = {};
  const rejectsByType: Record<string, number> = {};
  const bump = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

  const negatives = join(dir, journalFiles.negatives);
  if (existsSync(negatives)) {
    for (const line of await readJsonl(
      negatives,
      negativeLineSchema,
      "expected negatives.jsonl lines written by `seapo inject`",
    )) {
      bump(acceptedByType, line.errorType);
      if (examples.length < EXAMPLES_SHOWN) {
        examples.push({
          errorType: line.errorType,
          prompt: line.prompt,
          positive: line.chosen,
          negative: line.rejected,
        });
      }
    }
  }
  const rejects = join(dir, journalFiles.rejects);
  if (existsSync(rejects)) {
    for (const line of await readJsonl(
      rejects,
      rejectLineSchema,
      "expected rejects.jsonl lines written by `seapo inject`",
    )) {
      bump(rejectsByReason, line.reason);
      if (line.errorType !== undefined) bump(rejectsByType, line.errorType);
    }
  }
  const statsFile = join(dir, exportFiles.stats);
  const stats = existsSync(statsFile)
    ? parse(
        statsSchema,
        await readJson(statsFile),
        statsFile,
        undefined,
        "expected the stats.json that `seapo inject` writes",
      )
    : {
        accepted: Object.values(acceptedByType).reduce((a, b) => a + b, 0),
        rejected: Object.values(rejectsByReason).reduce((a, b) => a + b, 0),
        acceptedByType,
        rejectsByReason,
        rejectsByType,
      };
  return { stats, examples };
}

function isEvalResults(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { format?: unknown }).format === EVAL_FORMAT;
}

/** Parses a JSON file; with `strict` false an unparsable file (not ours to judge) gives undefined. */
async function readJson(file: string, strict = true): Promise<unknown> {
  const text = await readFile(file, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (!strict) return undefined;
    throw new InputError(file, undefined, undefined, `not valid JSON (${(error as Error).message})`);
  }
}

async function readJsonl<T>(file: string, schema: z.ZodType<T>, hint: string): Promise<T[]> {
  const rows: T[] = [];
  for await (const { line, value } of readJsonLines(file)) rows.push(parse(schema, value, file, line, hint));
  return rows;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, file: string, line: number | undefined, hint: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError(file, line, issue.path.map(String).join(".") || undefined, issue.message, hint);
}
