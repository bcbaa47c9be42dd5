import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { InputError, ProviderError } from "../errors.js";
import type { LanguageModel } from "../llm/provider.js";
import type { ErrorType } from "./error-types.js";
import { JUDGE_TEMPLATE_VERSION, classificationMessages, classificationSchema } from "./prompts.js";
import { checkOrWriteManifest } from "./run-manifest.js";
import { bump } from "./stats.js";
import { Journal, readJsonLines, readRecords, writeFileAtomic } from "../io/index.js";
import { runInOrder } from "./in-order.js";

/** A model's answer to grade, with the reference it is graded against. */
export interface AnswerRow {
  id: string;
  prompt: string;
  response: string;
  reference: string;
  line: number;
}

export interface Judgment {
  correct: boolean;
  /** The error type of a wrong answer; null when correct or when the judge named no known type. */
  errorType: string | null;
  explanation: string;
}

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
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(
        path,
        line,
        issue.path.join("."),
        issue.message,
        "each row needs prompt, response and reference",
      );
    }
    const { id, ...rest } = parsed.data;
    yield { id: id === undefined ? `${basename(path)}:${line}` : String(id), ...rest, line };
  }
}

export interface Analysis {
  judge: string;
  templateVersion: string;
  total: number;
  correct: number;
  wrong: number;
  unclassified: number;
  counts: Record<string, number>;
  /** Share of each type among classified wrong answers; what `inject --strategy most-common|weighted` reads. */
  distribution: Record<string, number>;
  mostCommon: string | null;
}

/** Grades every answer (resumably, through a journal) and writes `analysis.json`. */
export async function runAnalyze(options: {
  input: string;
  outDir: string;
  classifier: Classifier;
  judgeName: string;
  types: readonly ErrorType[];
  window?: number;
  onRowDone?: () => void;
}): Promise<Analysis> {
  mkdirSync(options.outDir, { recursive: true });
  checkOrWriteManifest(
    options.outDir,
    {
      input: options.input,
      judge: options.judgeName,
      templateVersion: JUDGE_TEMPLATE_VERSION,
      types: options.types.map((t) => t.name),
    },
    { command: "analyze", updatedAt: new Date().toISOString() },
  );
  const journalPath = join(options.outDir, "judgments.jsonl");
  const done = new Set<string>();
  for await (const record of readRecords<{ sourceId: string }>(journalPath)) done.add(record.sourceId);
  const journal = Journal.open(journalPath);

  async function* pending(): AsyncGenerator<AnswerRow> {
    for await (const row of readAnswerRows(options.input)) if (!done.has(row.id)) yield row;
  }
  try {
    await runInOrder(pending(), options.window ?? 32, options.classifier, (row, judgment) => {
      journal.append({ sourceId: row.id, line: row.line, ...judgment, judge: options.judgeName });
      options.onRowDone?.();
    });
  } finally {
    journal.close();
  }

  const counts: Record<string, number> = Object.fromEntries(options.types.map((t) => [t.name, 0]));
  let total = 0;
  let correct = 0;
  let unclassified = 0;
  for await (const record of readRecords<Judgment>(journalPath)) {
    total++;
    if (record.correct) correct++;
    else if (record.errorType) bump(counts, record.errorType);
    else unclassified++;
  }
  const classified = Object.values(counts).reduce((a, b) => a + b, 0);
  const distribution = Object.fromEntries(
    Object.entries(counts).map(([name, n]) => [
      name,
      classified === 0 ? 0 : Math.round((n / classified) * 10_000) / 10_000,
    ]),
  );
  const ranked = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const analysis: Analysis = {
    judge: options.judgeName,
    templateVersion: JUDGE_TEMPLATE_VERSION,
    total,
    correct,
    wrong: total - correct,
    unclassified,
    counts,
    distribution,
    mostCommon: classified === 0 ? null : ranked[0]![0],
  };
  writeFileAtomic(join(options.outDir, "analysis.json"), `${JSON.stringify(analysis, null, 2)}\n`);
  return analysis;
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
