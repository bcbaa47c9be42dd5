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

/**
 * Puts each prompt's negatives next to each other again, in `typeRank` order, when a re-run or a
 * batch result appended a job after later prompts: the export picks `mixed`'s one-per-prompt and
 * writes each KTO positive once from runs of lines with the same prompt. A no-op, costing one
 * streaming pass, when the journal is already grouped.
 */
export async function regroupNegatives(outDir: string, typeRank: (errorType: string) => number): Promise<boolean> {
  const path = join(outDir, journalFiles.negatives);
  if (!existsSync(path) || (await isGrouped(path, typeRank))) return false;
  const groups = new Map<string, Array<{ rank: number; offset: number; length: number }>>();
  let offset = 0;
  for await (const text of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    const length = Buffer.byteLength(text);
    if (text.trim()) {
      const { sourceId, errorType } = JSON.parse(text) as NegativeLine;
      let group = groups.get(sourceId);
      if (!group) groups.set(sourceId, (group = []));
      group.push({ rank: typeRank(errorType), offset, length });
    }
    offset += length + 1;
  }
  const fd = openSync(path, "r");
  const writer = new AtomicLineWriter(path);
  try {
    for (const group of groups.values()) {
      for (const at of group.sort((a, b) => a.rank - b.rank)) {
        const buffer = Buffer.alloc(at.length);
        readSync(fd, buffer, 0, at.length, at.offset);
        writer.write(JSON.parse(buffer.toString("utf8")) as NegativeLine);
      }
    }
  } finally {
    closeSync(fd);
  }
  writer.commit();
  return true;
}

async function isGrouped(path: string, typeRank: (errorType: string) => number): Promise<boolean> {
  const finished = new Set<string>();
  let current: { sourceId: string; rank: number } | undefined;
  for await (const line of readRecords<NegativeLine>(path)) {
    const rank = typeRank(line.errorType);
    if (current?.sourceId === line.sourceId) {
      if (rank < current.rank) return false;
      current.rank = rank;
      continue;
    }
    if (finished.has(line.sourceId)) return false;
    if (current) finished.add(current.sourceId);
    current = { sourceId: line.sourceId, rank };
  }
  return true;
}
