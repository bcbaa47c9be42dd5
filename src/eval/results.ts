import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InputError } from "../errors.js";
import type { EvalRun, MetricValue, TaskResult } from "./run.js";
import { PROMPT_FORMAT_VERSION, type TaskName } from "./tasks/index.js";
import { AtomicLineWriter, writeFileAtomic } from "../io/index.js";

/** Who produced the numbers: a server (base URL + model id) or a local weights file (path + sha256). */
export type ModelIdentity =
  | { kind: "openai-compatible"; provider: string; modelId: string; baseURL: string; model: string }
  | { kind: "gguf" | "hf"; provider: string; modelId: string; path: string; sha256: string }
  | { kind: "other"; provider: string; modelId: string };

export interface ResultsFile {
  format: "seapo-eval-results";
  formatVersion: 1;
  seapoVersion: string;
  promptFormatVersion: string;
  createdAt: string;
  model: ModelIdentity;
  config: Record<string, unknown>;
  data: { dir: string; files: Record<string, string> };
  sandbox?: unknown;
  requests: { total: number; cacheHits?: number; cacheMisses?: number };
  durationMs: number;
  results: Partial<Record<TaskName, TaskResult>>;
}

export function buildResultsFile(
  run: EvalRun,
  meta: {
    seapoVersion: string;
    model: ModelIdentity;
    config: Record<string, unknown>;
    cacheStats?: { hits: number; misses: number };
  },
): ResultsFile {
  return {
    format: "seapo-eval-results",
    formatVersion: 1,
    seapoVersion: meta.seapoVersion,
    promptFormatVersion: PROMPT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    model: meta.model,
    config: { ...meta.config, fewshotSeed: run.fewshotSeed },
    data: { dir: run.dataDir, files: run.dataFiles },
    ...(run.sandbox && { sandbox: run.sandbox }),
    requests: {
      total: run.requests,
      ...(meta.cacheStats && { cacheHits: meta.cacheStats.hits, cacheMisses: meta.cacheStats.misses }),
    },
    durationMs: run.durationMs,
    results: run.results,
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
      for (const row of rows ?? []) writer.write({ task, ...row });
    writer.commit();
    written.push(samplesPath(path));
  }
  return written;
}

const metricValue = z.object({ value: z.number().nullable(), stderr: z.number().nullable() });
const metricTable = z.object({ n: z.number(), metrics: z.record(z.string(), metricValue) });
const resultsSchema = z.object({
  format: z.literal("seapo-eval-results"),
  promptFormatVersion: z.string(),
  model: z.looseObject({ modelId: z.string() }),
  results: z.record(
    z.string(),
    metricTable.extend({ groups: z.record(z.string(), metricTable).optional(), numFewshot: z.number().optional() }),
  ),
});

export async function readResults(path: string): Promise<TabulatedResults> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new InputError(path, undefined, undefined, "results file not found");
    throw new InputError(path, undefined, undefined, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = resultsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      path,
      undefined,
      issue.path.map(String).join(".") || undefined,
      issue.message,
      "expected a results.json written by `seapo eval`",
    );
  }
  return parsed.data;
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
  model: { modelId: string };
  results: Partial<
    Record<
      string,
      { metrics: Record<string, Comparable>; groups?: Record<string, { metrics: Record<string, Comparable> }> }
    >
  >;
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
  const notes: string[] = [];
  const versions = new Set(files.map((f) => f.results.promptFormatVersion));
  if (versions.size > 1)
    notes.push(`warning: prompt format versions differ (${[...versions].join(", ")}); the numbers are not comparable`);
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
