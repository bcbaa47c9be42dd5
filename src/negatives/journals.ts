/**
 * The two journals of `seapo inject`: accepted negatives and everything not used. One schema per
 * file serves the writer (inject.ts builds its records typed from it) and every reader.
 */
import { closeSync, createReadStream, existsSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { chatMessageSchema, usageSchema } from "../llm/index.js";
import { AtomicLineWriter, Journal, readRecords } from "../io/index.js";
import { rejectReasons, type RejectReason } from "./verify.js";

export const journalFiles = { negatives: "negatives.jsonl", rejects: "rejects.jsonl" } as const;

const provenance = {
  sourceId: z.string(),
  errorType: z.string().min(1),
  injector: z.string(),
  templateVersion: z.string(),
  seed: z.number(),
};

/** A `negatives.jsonl` line: an accepted negative with its positive, provenance and usage. */
export const negativeRecordSchema = z.object({
  ...provenance,
  prompt: z.string(),
  history: z.array(chatMessageSchema),
  chosen: z.string(),
  rejected: z.string(),
  usage: usageSchema,
});
export type NegativeLine = z.infer<typeof negativeRecordSchema>;

/** A `rejects.jsonl` line: a rewrite not used (or an input row that could not be read), with the reason. */
export const rejectRecordSchema = z.object({
  reason: z.enum(rejectReasons),
  detail: z.string(),
  sourceId: z.string().optional(),
  line: z.number().int().optional(),
  errorType: z.string().optional(),
  prompt: z.string().optional(),
  chosen: z.string().optional(),
  candidate: z.string().optional(),
  injector: z.string().optional(),
  templateVersion: z.string().optional(),
  seed: z.number().optional(),
  usage: usageSchema.optional(),
  raw: z.unknown().optional(),
});
export type RejectLine = z.infer<typeof rejectRecordSchema>;

export function jobKey(sourceId: string, errorType: string): string {
  return `${sourceId}\u0000${errorType}`;
}

/** The jobs the journals already hold, so a resumed run neither repeats nor loses any. */
export async function completedJobs(outDir: string): Promise<{ jobs: Set<string>; invalidLines: Set<number> }> {
  const jobs = new Set<string>();
  const invalidLines = new Set<number>();
  for await (const line of readRecords<NegativeLine>(join(outDir, journalFiles.negatives))) {
    jobs.add(jobKey(line.sourceId, line.errorType));
  }
  for await (const line of readRecords<RejectLine>(join(outDir, journalFiles.rejects))) {
    if (line.sourceId !== undefined && line.errorType !== undefined) jobs.add(jobKey(line.sourceId, line.errorType));
    else if (line.line !== undefined) invalidLines.add(line.line);
  }
  return { jobs, invalidLines };
}

/**
 * Moves the rejects whose reason is in `reasons` back to pending, for a re-run after the server
 * is fixed or a limit raised: rejects.jsonl is rewritten (atomically) without them, so the jobs
 * they held are sent again and recorded once. Returns how many moved, by reason.
 */
export async function releaseRejects(
  outDir: string,
  reasons: readonly RejectReason[],
): Promise<Record<string, number>> {
  const path = join(outDir, journalFiles.rejects);
  const released: Record<string, number> = {};
  if (reasons.length === 0 || !existsSync(path)) return released;
  Journal.open(path).close(); // cuts a torn last line left by a kill
  for await (const line of readRecords<RejectLine>(path)) {
    if (reasons.includes(line.reason)) released[line.reason] = (released[line.reason] ?? 0) + 1;
  }
  if (Object.keys(released).length === 0) return released;
  const kept = new AtomicLineWriter(path);
  for await (const line of readRecords<RejectLine>(path)) if (!reasons.includes(line.reason)) kept.write(line);
  kept.commit();
  return released;
}

/** Where a job or an unreadable row sits in the input: its line, then its type's rank. */
export interface InputOrder {
  /** The input line of each row id (rows a changed input no longer holds go last, as they came). */
  lineOf(sourceId: string): number | undefined;
  /** A type's place in the strategy's list. */
  typeRank(errorType: string): number;
}

/**
 * Rewrites both journals in input order (by row line, then type rank), when a re-run or a batch
 * result appended jobs after later rows: the exports then hold the same rows in the same order
 * whether a job succeeded at once, on a --retry-rejects re-run, after a resume or from a batch
 * result, and each prompt's negatives sit together, as `mixed`'s one-per-prompt pick and the KTO
 * positives written once per prompt need. One streaming pass when a journal is already in order;
 * otherwise an atomic rewrite holding 28 bytes per line (sort key, byte range, place), not the lines.
 */
export async function putInInputOrder(outDir: string, order: InputOrder): Promise<string[]> {
  const rewritten: string[] = [];
  for (const file of [journalFiles.negatives, journalFiles.rejects]) {
    if (await sortJournal(join(outDir, file), order)) rewritten.push(file);
  }
  return rewritten;
}

async function sortJournal(path: string, order: InputOrder): Promise<boolean> {
  if (!existsSync(path)) return false;
  Journal.open(path).close(); // cuts a torn last line left by a kill
  const keys = new GrowingArray();
  const spans = new GrowingArray();
  let sorted = true;
  let previous = -Infinity;
  let offset = 0;
  for await (const text of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    const length = Buffer.byteLength(text);
    if (text.trim()) {
      const key = sortKey(JSON.parse(text) as RejectLine, order);
      sorted &&= key > previous;
      previous = key;
      keys.push(key);
      spans.push(offset, length);
    }
    offset += length + 1;
  }
  if (sorted) return false;
  // Equal keys (rows of a changed input) keep their journal order: the sort is stable.
  const byKey = Uint32Array.from({ length: keys.length }, (_, i) => i).sort((a, b) => keys.at(a) - keys.at(b) || a - b);
  const fd = openSync(path, "r");
  const writer = new AtomicLineWriter(path);
  try {
    for (const i of byKey) writer.writeLine(spans.readLine(fd, i));
  } finally {
    closeSync(fd);
  }
  writer.commit();
  return true;
}

/** line · 2^12 + rank + 1: exact in a double for any input under 2^40 lines and strategies of up to 4,095 types. */
function sortKey(record: { sourceId?: string; errorType?: string; line?: number }, order: InputOrder): number {
  const line = record.sourceId === undefined ? record.line : order.lineOf(record.sourceId);
  const rank = record.errorType === undefined ? -1 : order.typeRank(record.errorType);
  return (line ?? 2 ** 40) * 4096 + rank + 1;
}

/** A Float64Array that grows: a sort key per journal line, or two numbers (byte offset, length). */
class GrowingArray {
  private data = new Float64Array(1024);
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(...values: number[]): void {
    if (this.size + values.length > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    for (const value of values) this.data[this.size++] = value;
  }

  at(index: number): number {
    return this.data[index]!;
  }

  /** Line `index` of the file, when this array holds spans. */
  readLine(fd: number, index: number): string {
    const buffer = Buffer.alloc(this.data[2 * index + 1]!);
    readSync(fd, buffer, 0, buffer.length, this.data[2 * index]!);
    return buffer.toString("utf8");
  }
}
