import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { ProviderError, zodInputError } from "../errors.js";
import { Journal, readJsonLines, readRecords, writeFileAtomic } from "../io/index.js";
import { isDeferred, type LanguageModel } from "../llm/index.js";
import { ANALYSIS_FILE, JUDGMENTS_FILE, type Analysis, type JudgmentRecord } from "./analysis-file.js";
import type { ErrorType } from "./error-types.js";
import { runInOrder } from "./in-order.js";
import { JUDGE_TEMPLATE_VERSION, classificationMessages, classificationSchema } from "./prompts.js";
import { checkOrWriteManifest } from "./run-manifest.js";
import { bump, total } from "./stats.js";

/** A model's answer to grade, with the reference it is graded against. */
export interface AnswerRow {
  id: string;
  prompt: string;
  response: string;
  reference: string;
  line: number;
}

export type { Analysis } from "./analysis-file.js";

/** A grade: what a Classifier returns (the journal adds the row and the judge). */
export type Judgment = Pick<JudgmentRecord, "correct" | "errorType" | "explanation">;

/** Anything that grades an answer: an LLM judge, or an exact checker (the demo's world). */
export type Classifier = (row: AnswerRow) => Promise<Judgment>;

export function llmClassifier(judge: LanguageModel, types: readonly ErrorType[]): Classifier {
  return async (row) => {
    try {
      const { value } = await judge.generateJson({
        messages: classificationMessages(row, types),
        schema: classificationSchema,
        schemaName: "classification",
        maxTokens: 256,
        temperature: 0,
      });
      const known = types.some((t) => t.name === value.error_type);
      return {
        correct: value.correct,
        errorType: value.correct || !known ? null : value.error_type,
        explanation: value.explanation,
      };
    } catch (error) {
      if (error instanceof ProviderError && !error.isRetryable) {
        return { correct: false, errorType: null, explanation: `unusable judge reply: ${error.message}` };
      }
      throw error;
    }
  };
}

const answerRowSchema = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  prompt: z.string().trim().min(1, "must be a non-empty string"),
  response: z.string(),
  reference: z.string().trim().min(1, "must be a non-empty string"),
});

/** Reads `{id?, prompt, response, reference}` JSONL; `answer`/`output` and `gold`/`target` are accepted aliases. */
export async function* readAnswerRows(path: string): AsyncGenerator<AnswerRow> {
  for await (const { line, value } of readJsonLines(path)) {
    const v = (value ?? {}) as Record<string, unknown>;
    const candidate = {
      id: v.id,
      prompt: v.prompt ?? v.question,
      response: v.response ?? v.answer ?? v.output,
      reference: v.reference ?? v.gold ?? v.target,
    };
    const parsed = answerRowSchema.safeParse(candidate);
    if (!parsed.success) throw zodInputError(parsed.error, path, line, "each row needs prompt, response and reference");
    const { id, ...rest } = parsed.data;
    yield { id: id === undefined ? `${basename(path)}:${line}` : String(id), ...rest, line };
  }
}

export interface AnalyzeOptions {
  input: string;
  outDir: string;
  classifier: Classifier;
  judgeName: string;
  types: readonly ErrorType[];
  window?: number;
  onRowDone?: () => void;
  /** A row whose judge request waits for a batch result: it stays pending. */
  onRowDeferred?: () => void;
}

/** Grades every answer (resumably, through a journal) and writes `analysis.json`. */
export async function runAnalyze(options: AnalyzeOptions): Promise<Analysis> {
  mkdirSync(options.outDir, { recursive: true });
  checkOrWriteManifest(options.outDir, {
    identity: {
      input: options.input,
      judge: options.judgeName,
      templateVersion: JUDGE_TEMPLATE_VERSION,
      types: options.types.map((t) => t.name),
    },
    command: "analyze",
    updatedAt: new Date().toISOString(),
  });
  const journalPath = join(options.outDir, JUDGMENTS_FILE);
  await gradePending(options, journalPath);
  const analysis = await tallyJudgments(journalPath, options);
  writeFileAtomic(join(options.outDir, ANALYSIS_FILE), `${JSON.stringify(analysis, null, 2)}\n`);
  return analysis;
}

/** Grades the rows the journal does not hold yet, appending each judgment in input order. */
async function gradePending(options: AnalyzeOptions, journalPath: string): Promise<void> {
  const done = new Set<string>();
  for await (const record of readRecords<JudgmentRecord>(journalPath)) done.add(record.sourceId);
  const journal = Journal.open(journalPath);
  async function* pending(): AsyncGenerator<AnswerRow> {
    for await (const row of readAnswerRows(options.input)) if (!done.has(row.id)) yield row;
  }
  const grade = (row: AnswerRow) =>
    options.classifier(row).catch((error: unknown) => (isDeferred(error) ? undefined : Promise.reject(error)));
  try {
    await runInOrder(pending(), options.window ?? 32, grade, (row, judgment) => {
      if (!judgment) return options.onRowDeferred?.();
      const record: JudgmentRecord = { sourceId: row.id, line: row.line, ...judgment, judge: options.judgeName };
      journal.append(record);
      options.onRowDone?.();
    });
  } finally {
    journal.close();
  }
}

async function tallyJudgments(
  journalPath: string,
  options: Pick<AnalyzeOptions, "judgeName" | "types">,
): Promise<Analysis> {
  const counts: Record<string, number> = Object.fromEntries(options.types.map((t) => [t.name, 0]));
  let graded = 0;
  let correct = 0;
  let unclassified = 0;
  for await (const record of readRecords<JudgmentRecord>(journalPath)) {
    graded++;
    if (record.correct) correct++;
    else if (record.errorType) bump(counts, record.errorType);
    else unclassified++;
  }
  const classified = total(counts);
  const distribution = Object.fromEntries(
    Object.entries(counts).map(([name, n]) => [
      name,
      classified === 0 ? 0 : Math.round((n / classified) * 10_000) / 10_000,
    ]),
  );
  const ranked = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return {
    judge: options.judgeName,
    templateVersion: JUDGE_TEMPLATE_VERSION,
    total: graded,
    correct,
    wrong: graded - correct,
    unclassified,
    counts,
    distribution,
    mostCommon: classified === 0 ? null : ranked[0]![0],
  };
}

/** The table `seapo analyze` prints. */
export function formatAnalysis(analysis: Analysis): string {
  const rows = Object.entries(analysis.counts).map(
    ([name, n]) =>
      `  ${name.padEnd(16)} ${String(n).padStart(7)}  ${(100 * (analysis.distribution[name] ?? 0)).toFixed(1).padStart(5)}%`,
  );
  return [
    `answers ${analysis.total}: correct ${analysis.correct}, wrong ${analysis.wrong} (${analysis.unclassified} unclassified)`,
    `  ${"error type".padEnd(16)} ${"count".padStart(7)}  ${"share".padStart(6)}`,
    ...rows,
    `most common: ${analysis.mostCommon ?? "none"}`,
  ].join("\n");
}
