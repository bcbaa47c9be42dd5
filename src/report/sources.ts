/**
 * Reads what a run directory holds for the report: each file seapo writes, validated with zod, so
 * a bad file stops the report with its name (and line, for JSONL) instead of drawing nonsense.
 */
import { existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { demoResultsSchema, RESULTS_FILE, type DemoResults } from "../demo/index.js";
import { InputError, zodInputError } from "../errors.js";
import { evalResultsSchema, readResults, type TabulatedResults } from "../eval/index.js";
import { readJsonLines } from "../io/index.js";
import {
  ANALYSIS_FILE,
  MANIFEST_FILE,
  STATS_FILE,
  analysisFileSchema,
  injectStatsSchema,
  journalFiles,
  negativeRecordSchema,
  rejectRecordSchema,
  runManifestSchema,
  type InjectStats,
  type RunManifest,
} from "../negatives/index.js";
import {
  METRICS_FILE,
  RUN_FILE,
  metricsLineSchema,
  trainRunFileSchema,
  type MetricsLine,
  type TrainRunFile,
} from "../train/index.js";

export type { MetricsLine, RunManifest, TrainRunFile };

/** The files the report knows, in the order the sections appear. */
export const REPORT_SOURCES = [
  RESULTS_FILE,
  METRICS_FILE,
  RUN_FILE,
  journalFiles.negatives,
  STATS_FILE,
  journalFiles.rejects,
  ANALYSIS_FILE,
  MANIFEST_FILE,
  "*.json written by seapo eval",
] as const;

// Each file is read with the schema its writer uses. Two allowances: without stats.json the
// counts come from the journals, and analysis.json may be hand-written with only a distribution
// (as the injection strategies accept).

/** The counts the report shows; all of stats.json when inject wrote it. */
export type InjectCounts = Pick<
  InjectStats,
  "accepted" | "rejected" | "acceptedByType" | "rejectsByReason" | "rejectsByType"
> &
  Partial<InjectStats>;

const reportAnalysisSchema = analysisFileSchema.partial().required({ distribution: true });
export type AnalysisFile = z.infer<typeof reportAnalysisSchema>;

export interface Example {
  errorType: string;
  dimension?: string;
  prompt: string;
  positive: string;
  negative: string;
}

export interface InjectSource {
  stats: InjectCounts;
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
  /** The manifest.json of seapo inject or analyze (run.json before it was renamed): the settings the journals were made with. */
  manifest?: RunManifest;
}

const EXAMPLES_SHOWN = 5;
const MANIFEST_HINT = "expected the manifest.json of seapo inject or analyze";

export async function readSources(dir: string): Promise<ReportSources> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(dir, undefined, undefined, "no such directory");
  const has = (name: string) => existsSync(join(dir, name));
  const sources: ReportSources = { dir, found: [], evals: [] };

  // results.json is the demo's file, unless `seapo eval --out results.json` wrote it.
  const jsonFiles = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
  for (const name of jsonFiles) {
    if ([RUN_FILE, MANIFEST_FILE, STATS_FILE, ANALYSIS_FILE].includes(name)) continue;
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
    // Before manifest.json, inject and analyze kept their manifest in run.json too.
    if (typeof value === "object" && value !== null && "identity" in value) {
      sources.manifest = parse(runManifestSchema, value, file, undefined, MANIFEST_HINT);
    } else {
      run = parse(trainRunFileSchema, value, file, undefined, "expected the run.json that `seapo train` writes");
    }
    sources.found.push(RUN_FILE);
  }
  if (has(MANIFEST_FILE)) {
    const file = join(dir, MANIFEST_FILE);
    sources.manifest = parse(runManifestSchema, await readJson(file), file, undefined, MANIFEST_HINT);
    sources.found.push(MANIFEST_FILE);
  }
  if (has(METRICS_FILE) || run !== undefined) {
    const hint = "expected metrics.jsonl lines written by `seapo train`";
    const metrics = has(METRICS_FILE) ? await readJsonl(join(dir, METRICS_FILE), metricsLineSchema, hint) : [];
    sources.train = { metrics, run };
    if (has(METRICS_FILE)) sources.found.push(METRICS_FILE);
  }

  const injectFiles = [journalFiles.negatives, STATS_FILE, journalFiles.rejects].filter(has);
  if (injectFiles.length > 0) {
    sources.inject = await readInject(dir);
    sources.found.push(...injectFiles);
  }

  if (has(ANALYSIS_FILE)) {
    const file = join(dir, ANALYSIS_FILE);
    sources.analysis = parse(
      reportAnalysisSchema,
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
      negativeRecordSchema,
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
      rejectRecordSchema,
      "expected rejects.jsonl lines written by `seapo inject`",
    )) {
      bump(rejectsByReason, line.reason);
      if (line.errorType !== undefined) bump(rejectsByType, line.errorType);
    }
  }
  const statsFile = join(dir, STATS_FILE);
  const stats: InjectCounts = existsSync(statsFile)
    ? parse(
        injectStatsSchema,
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
  const format = evalResultsSchema.shape.format.value;
  return typeof value === "object" && value !== null && (value as { format?: unknown }).format === format;
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
  throw zodInputError(parsed.error, file, line, hint);
}
