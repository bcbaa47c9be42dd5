/**
 * The two journals of `seapo inject`: accepted negatives and everything not used. One schema per
 * file serves the writer (inject.ts builds its records typed from it) and every reader.
 */
import { join } from "node:path";
import { z } from "zod";
import { chatMessageSchema, usageSchema } from "../llm/index.js";
import { readRecords } from "../io/index.js";
import { rejectReasons } from "./verify.js";

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
