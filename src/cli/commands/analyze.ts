import type { Command } from "commander";
import { z } from "zod";
import {
  ANALYSIS_FILE,
  formatAnalysis,
  JUDGMENTS_FILE,
  llmClassifier,
  loadErrorTypes,
  runAnalyze,
} from "../../negatives/index.js";
import { batchOptions, batchSession, batchSummary } from "../batch-options.js";
import { cacheOptions, requestCacheDir } from "../cache-options.js";
import { endpointLines, endpointsByRole } from "../endpoint-summary.js";
import { countRows } from "../count-rows.js";
import { modelOptionsSchema, openModelFromOptions, requireModel } from "../model-options.js";
import { createProgress } from "../progress.js";
import { addSchemaCommand } from "../schema-command.js";

/** Every option of `seapo analyze`: flag, help line, default and range in one place. */
export const analyzeFlagsSchema = z.object({
  input: z.string().meta({
    description: "JSONL rows {id?, prompt, response, reference} (aliases: question, answer/output, gold/target)",
    flag: "--input <file>",
    mandatory: true,
  }),
  out: z
    .string()
    .meta({ description: "output folder (created; reused to resume)", flag: "--out <dir>", mandatory: true }),
  errorTypes: z.string().optional().meta({
    description: "YAML/JSON file of extra error types ({name, description, examples?})",
    flag: "--error-types <file>",
  }),
  ...cacheOptions,
  ...batchOptions,
  judge: modelOptionsSchema().prefault({}),
});
export type AnalyzeFlags = z.output<typeof analyzeFlagsSchema>;

export function registerAnalyzeCommand(program: Command): void {
  addSchemaCommand(program, {
    name: "analyze",
    summary: "classify a model's wrong answers by error type and write the distribution",
    description:
      "Reads a model's answers with reference answers ({id?, prompt, response, reference} JSONL), asks a judge LLM whether " +
      "each answer is correct and, if not, which error type explains the mistake. Writes judgments.jsonl and analysis.json " +
      "to --out and prints the table. `seapo inject --strategy most-common|weighted --analysis <out>/analysis.json` uses it. " +
      "Re-running the same command resumes.",
    schema: analyzeFlagsSchema,
    run: runAnalyzeCommand,
  });
}

async function runAnalyzeCommand(flags: AnalyzeFlags): Promise<void> {
  const cacheDir = requestCacheDir(flags);
  const batch = await batchSession(flags);
  const judge = requireModel(await openModelFromOptions(flags.judge, { cacheDir, batch }), "judge");
  const types = await loadErrorTypes(flags.errorTypes);
  const progress = createProgress("analyze", await countRows(flags.input));
  let pending = 0;
  try {
    const analysis = await runAnalyze({
      input: flags.input,
      outDir: flags.out,
      classifier: llmClassifier(judge.model, types),
      judgeName: judge.name,
      types,
      window: 2 * flags.judge.concurrency,
      onRowDone: () => progress.increment(),
      onRowDeferred: () => (pending++, progress.increment()),
    });
    progress.stop();
    const batchFiles = batch?.close() ?? [];
    await batch?.checkAllMatched(cacheDir);
    console.log(formatAnalysis(analysis));
    for (const line of endpointLines(endpointsByRole({ judge }))) console.log(line);
    if (batch) console.log(batchSummary(batch.counts, pending, batchFiles));
    console.log(`wrote ${flags.out}/${ANALYSIS_FILE} and ${JUDGMENTS_FILE}`);
  } finally {
    await judge.model.close?.();
  }
}
