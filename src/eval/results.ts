import { readFile } from "node:fs/promises";
import { InputError, zodInputError } from "../errors.js";
import { AtomicLineWriter, readRecords, writeFileAtomic } from "../io/index.js";
import {
  evalResultsSchema,
  evalSampleSchema,
  type ModelIdentity,
  type ResultsFile,
  type SampleLine,
} from "./file-schemas.js";
import type { EvalRun, MetricValue } from "./run.js";
import { PROMPT_FORMAT_VERSION } from "./tasks/index.js";

export function buildResultsFile(
  run: EvalRun,
  meta: {
    seapoVersion: string;
    model: ModelIdentity;
    config: Record<string, unknown>;
    cacheStats?: { hits: number; misses: number };
    batch?: ResultsFile["batch"];
    endpoints?: ResultsFile["endpoints"];
  },
): ResultsFile {
  const waiting = Object.values(run.pending).reduce((sum, p) => sum + (p?.requests ?? 0), 0);
  const unfinished = Object.keys(run.pending).length + Object.keys(run.skipped).length > 0;
  return {
    format: "seapo-eval-results",
    formatVersion: 1,
    seapoVersion: meta.seapoVersion,
    promptFormatVersion: PROMPT_FORMAT_VERSION,
    harness: run.harness,
    harnessCommit: run.harnessCommit,
    createdAt: new Date().toISOString(),
    model: meta.model,
    config: { ...meta.config, fewshotSeed: run.fewshotSeed, taskVersions: run.taskVersions },
    data: { dir: run.dataDir, files: run.dataFiles },
    ...(run.sandbox && { sandbox: run.sandbox }),
    requests: {
      total: run.requests,
      ...(meta.cacheStats && { cacheHits: meta.cacheStats.hits, cacheMisses: meta.cacheStats.misses }),
    },
    durationMs: run.durationMs,
    results: run.results,
    ...(unfinished && { pending: { requests: waiting, tasks: run.pending, skipped: run.skipped } }),
    ...(meta.batch && { batch: meta.batch }),
    ...(meta.endpoints && { endpoints: meta.endpoints }),
  };
}

/** Where --log-samples writes: results.json → results.samples.jsonl. */
export function samplesPath(resultsPath: string): string {
  return `${resultsPath.replace(/\.json$/, "")}.samples.jsonl`;
}

/** Writes the results (and the per-example log when the run kept one) atomically. */
export function writeResults(path: string, file: ResultsFile, run?: EvalRun): string[] {
  writeFileAtomic(
    path,
    `${JSON.stringify(file, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
  const written = [path];
  if (run?.samples) {
    const writer = new AtomicLineWriter(samplesPath(path));
    for (const [task, rows] of Object.entries(run.samples))
      for (const row of rows ?? []) writer.write({ task, ...row } satisfies SampleLine);
    writer.commit();
    written.push(samplesPath(path));
  }
  return written;
}

/** A results.json written by `seapo eval`, checked against the schema it was written by. */
export async function readResults(path: string): Promise<ResultsFile> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new InputError(path, undefined, undefined, "results file not found");
    throw new InputError(path, undefined, undefined, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = evalResultsSchema.safeParse(value);
  if (!parsed.success)
    throw zodInputError(parsed.error, path, undefined, "expected a results.json written by `seapo eval`");
  return parsed.data;
}

/** The lines of a samples file written with --log-samples, each checked against its schema. */
export async function readSamples(path: string): Promise<SampleLine[]> {
  const lines: SampleLine[] = [];
  for await (const record of readRecords(path)) {
    const parsed = evalSampleSchema.safeParse(record);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join(".") || undefined;
      throw new InputError(
        path,
        lines.length + 1,
        field,
        issue.message,
        "expected a samples file written by `seapo eval`",
      );
    }
    lines.push(parsed.data);
  }
  return lines;
}

/** Two results differ by less than noise when |Δ| < 2·sqrt(se_a² + se_b²). Undefined without both stderrs. */
export function withinNoise(
  a: { value: number | null; stderr: number | null },
  b: { value: number | null; stderr: number | null },
): boolean | undefined {
  if (a.value === null || b.value === null || a.stderr === null || b.stderr === null) return undefined;
  return Math.abs(b.value - a.value) < 2 * Math.sqrt(a.stderr ** 2 + b.stderr ** 2);
}

type Comparable = Pick<MetricValue, "stderr"> & { value: number | null };

/** What a table needs from a results file (a freshly built ResultsFile or one read back). */
export interface TabulatedResults {
  promptFormatVersion: string;
  /** Absent in files written before it was recorded (lm-eval runs). */
  harness?: string;
  model: { modelId: string };
  results: Partial<
    Record<
      string,
      {
        metrics: Record<string, Comparable>;
        groups?: Record<string, { metrics: Record<string, Comparable> }>;
        harnessVersion?: string;
      }
    >
  >;
}

/** Warnings for files whose numbers come from different harnesses or task versions. */
function comparabilityNotes(files: ReadonlyArray<{ label: string; results: TabulatedResults }>): string[] {
  const notes: string[] = [];
  const versions = new Set(files.map((f) => f.results.promptFormatVersion));
  if (versions.size > 1)
    notes.push(`warning: prompt format versions differ (${[...versions].join(", ")}); the numbers are not comparable`);
  const harnesses = new Set(files.map((f) => f.results.harness ?? "lm-eval"));
  if (harnesses.size > 1) notes.push(`warning: the files come from different harnesses (${[...harnesses].join(", ")})`);
  const tasks = new Set(files.flatMap((f) => Object.keys(f.results.results)));
  for (const task of tasks) {
    const byFile = files.map((f) => `${f.label} ${f.results.results[task]?.harnessVersion ?? "?"}`);
    const known = new Set(files.map((f) => f.results.results[task]?.harnessVersion).filter((v) => v !== undefined));
    if (known.size > 1) notes.push(`warning: ${task} ran different harness versions (${byFile.join(", ")})`);
  }
  return notes;
}

/**
 * A side-by-side table: one row per task metric (and per group, indented), one column per file,
 * then Δ of every later file against the first; "~" marks a difference within noise.
 */
export function formatComparison(files: ReadonlyArray<{ label: string; results: TabulatedResults }>): string {
  const rows: Array<{ name: string; cells: Array<Comparable | undefined> }> = [];
  const seen = new Set<string>();
  const add = (name: string, pick: (r: TabulatedResults) => Comparable | undefined) => {
    if (seen.has(name)) return;
    seen.add(name);
    rows.push({ name, cells: files.map((f) => pick(f.results)) });
  };
  for (const file of files) {
    for (const [task, result] of Object.entries(file.results.results)) {
      if (!result) continue;
      for (const metric of Object.keys(result.metrics)) {
        add(`${task} ${metric}`, (r) => r.results[task]?.metrics[metric]);
        for (const group of Object.keys(result.groups ?? {})) {
          add(`  ${task}/${group} ${metric}`, (r) => r.results[task]?.groups?.[group]?.metrics[metric]);
        }
      }
    }
  }
  const header = ["task / metric", ...files.map((f) => f.label), ...files.slice(1).map((f) => `Δ ${f.label}`)];
  const body = rows.map(({ name, cells }) => {
    const base = cells[0];
    const deltas = cells.slice(1).map((cell) => {
      if (!base || !cell || base.value === null || cell.value === null) return "–";
      const delta = cell.value - base.value;
      const noise = withinNoise(base, cell);
      return `${delta >= 0 ? "+" : ""}${delta.toFixed(4)}${noise === true ? " ~" : noise === false ? " *" : ""}`;
    });
    return [name, ...cells.map(formatCell), ...deltas];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const notes = comparabilityNotes(files);
  files.forEach((f) => notes.push(`${f.label}: ${f.results.model.modelId}`));
  if (files.length === 1)
    return [line(header), line(header.map((_, i) => "-".repeat(widths[i]!))), ...body.map(line)].join("\n");
  return [
    line(header),
    line(header.map((_, i) => "-".repeat(widths[i]!))),
    ...body.map(line),
    "",
    "Δ against the first file; ~ within noise (|Δ| < 2·sqrt(se₁² + se₂²)), * beyond it.",
    ...notes,
  ].join("\n");
}

function formatCell(cell: Comparable | undefined): string {
  if (!cell || cell.value === null) return "–";
  return cell.stderr === null ? cell.value.toFixed(4) : `${cell.value.toFixed(4)} ± ${cell.stderr.toFixed(4)}`;
}
