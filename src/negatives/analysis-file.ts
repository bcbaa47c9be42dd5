/**
 * The files of `seapo analyze`: the judgments journal and analysis.json. One schema per file
 * serves the writer (analyze.ts) and every reader (strategy.ts, the report).
 */
import { z } from "zod";

export const ANALYSIS_FILE = "analysis.json";
export const JUDGMENTS_FILE = "judgments.jsonl";

const count = z.number().int().min(0);

/** A `judgments.jsonl` line: the grade of one answer. */
export const judgmentRecordSchema = z.object({
  sourceId: z.string(),
  line: z.number().int(),
  correct: z.boolean(),
  /** The error type of a wrong answer; null when correct or when the judge named no known type. */
  errorType: z.string().nullable(),
  explanation: z.string(),
  judge: z.string(),
});
export type JudgmentRecord = z.infer<typeof judgmentRecordSchema>;

/** `analysis.json`: the error-type distribution of a model's wrong answers. */
export const analysisFileSchema = z.object({
  judge: z.string(),
  templateVersion: z.string(),
  total: count,
  correct: count,
  wrong: count,
  unclassified: count,
  counts: z.record(z.string(), count),
  /** Share of each type among classified wrong answers; what `inject --strategy most-common|weighted` reads. */
  distribution: z.record(z.string(), z.number().nonnegative()),
  mostCommon: z.string().nullable(),
});
export type Analysis = z.infer<typeof analysisFileSchema>;

/** The part of analysis.json the strategies read, so a hand-written distribution serves too. */
export const analysisDistributionSchema = analysisFileSchema.pick({ distribution: true });
