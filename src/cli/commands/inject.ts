import type { Command } from "commander";
import { z } from "zod";
import { SOURCE_FORMATS } from "../../data/index.js";
import type { BatchSession, OpenedModel } from "../../llm/index.js";
import {
  addRunDetails,
  defaultVerifyOptions,
  exportDatasets,
  loadErrorTypes,
  parseStrategy,
  rejectReasons,
  runInject,
  strategyNames,
  type InjectResult,
  type InjectStats,
  type Strategy,
} from "../../negatives/index.js";
import { batchOptions, batchSession, batchSummary } from "../batch-options.js";
import { endpointLines, endpointsByRole } from "../endpoint-summary.js";
import { countRows } from "../count-rows.js";
import { cacheOptions, requestCacheDir } from "../cache-options.js";
import { modelOptionsSchema, openModelFromOptions, requireModel } from "../model-options.js";
import { createProgress } from "../progress.js";
import { addSchemaCommand } from "../schema-command.js";

const help = (description: string, flag?: string) => ({ description, ...(flag ? { flag } : {}) });

/** Every option of `seapo inject`: flag, help line, default and range in one place. */
export const injectFlagsSchema = z.object({
  input: z.string().meta({
    ...help(
      "input rows: UltraFeedback-binarized, {id?, prompt, response} JSONL, chat messages, or LLaMA-Factory sharegpt/alpaca",
      "--input <file>",
    ),
    mandatory: true,
  }),
  out: z.string().meta({ ...help("output folder (created; reused to resume)", "--out <dir>"), mandatory: true }),
  format: z.enum(SOURCE_FORMATS).default("auto").meta(help("input format", "--format <format>")),
  strategy: z
    .string()
    .default("mixed")
    .meta(help(`which error types to inject: ${strategyNames.join(" | ")}`, "--strategy <strategy>")),
  analysis: z
    .string()
    .optional()
    .meta(help("analysis.json from `seapo analyze`, for --strategy most-common or weighted", "--analysis <file>")),
  errorTypes: z
    .string()
    .optional()
    .meta(
      help(
        "YAML/JSON file of extra error types ({name, description, examples?}); they join the built-in three",
        "--error-types <file>",
      ),
    ),
  seed: z.number().default(0).meta(help("seed for every random choice (mixed, weighted) and for sampling")),
  maxTokens: z.number().int().positive().default(1024).meta(help("new-token limit per rewrite (the paper: 1024)")),
  temperature: z.number().default(0).meta(help("sampling temperature (the paper: 0, greedy)", "--temperature <t>")),
  verify: z
    .object({
      minEditDistance: z
        .number()
        .default(defaultVerifyOptions.minEditDistance)
        .meta(
          help(
            "reject rewrites whose normalised edit distance to the positive is at or below this",
            "--min-edit-distance <d>",
          ),
        ),
      minLengthRatio: z
        .number()
        .default(defaultVerifyOptions.minLengthRatio)
        .meta(help("reject rewrites shorter than this fraction of the positive", "--min-length-ratio <r>")),
      maxLengthRatio: z
        .number()
        .default(defaultVerifyOptions.maxLengthRatio)
        .meta(help("reject rewrites longer than this multiple of the positive", "--max-length-ratio <r>")),
      lengthSlack: z
        .number()
        .min(0)
        .default(defaultVerifyOptions.lengthSlack!)
        .meta(
          help(
            "tokens (estimated at 4 characters each) a rewrite may differ in length from the positive whatever the length ratio, so one added sentence on a short answer passes",
            "--length-slack <tokens>",
          ),
        ),
    })
    .prefault({}),
  judge: z
    .boolean()
    .default(false)
    .meta(
      help(
        "ask a judge LLM to confirm each negative carries the intended error (set it with the --judge-* options; defaults to the injector)",
      ),
    ),
  skipInvalid: z
    .boolean()
    .default(false)
    .meta(help("send malformed input rows to rejects.jsonl and go on, instead of stopping at the first")),
  retryRejects: z
    .array(z.enum(rejectReasons))
    .default([])
    .meta(
      help(
        `move the rejects with these reasons (comma-separated: ${rejectReasons.join(", ")}) back to pending and send them again, e.g. provider-error after a server fix or truncated with a higher --max-tokens (such a re-run may change --max-tokens and the verify thresholds)`,
        "--retry-rejects <reasons>",
      ),
    ),
  ...cacheOptions,
  ...batchOptions,
  injector: modelOptionsSchema().prefault({}),
  judgeModel: modelOptionsSchema("judge").prefault({}),
});
export type InjectFlags = z.output<typeof injectFlagsSchema>;

export function registerInjectCommand(program: Command): void {
  addSchemaCommand(program, {
    name: "inject",
    summary: "rewrite good answers into verified, typed negatives and export KTO/DPO datasets",
    description:
      "Reads prompts with their good answer, asks an injector LLM to rewrite each answer with one error of a chosen type, " +
      "verifies every rewrite, and writes negatives.jsonl, rejects.jsonl, dpo.jsonl, dpo_conversational.jsonl, kto.jsonl, " +
      "llamafactory/ and stats.json to --out. Re-running the same command resumes: finished requests are not sent again.",
    schema: injectFlagsSchema,
    run: runInjectCommand,
  });
}

/** The injector and the optional judge (the injector itself when --judge names no other). */
interface InjectModels {
  injector: OpenedModel;
  judge: OpenedModel | undefined;
  retries: { count: number };
  batch: BatchSession | undefined;
  close(): Promise<void>;
}

async function openInjectModels(flags: InjectFlags): Promise<InjectModels> {
  const cacheDir = requestCacheDir(flags);
  const retries = { count: 0 };
  const batch = await batchSession(flags);
  const settings = { cacheDir, onRetry: () => retries.count++, batch };
  const injector = requireModel(await openModelFromOptions(flags.injector, settings), "injector");
  const judge = flags.judge
    ? ((await openModelFromOptions(flags.judgeModel, { ...settings, prefix: "judge" })) ?? injector)
    : undefined;
  const separateJudge = judge && judge !== injector ? judge : undefined;
  const close = async () => {
    await injector.model.close?.();
    await separateJudge?.model.close?.();
  };
  return { injector, judge, retries, batch, close };
}

async function runInjectCommand(flags: InjectFlags): Promise<void> {
  const models = await openInjectModels(flags);
  const { injector, judge, retries, batch } = models;
  const types = await loadErrorTypes(flags.errorTypes);
  const strategy = await parseStrategy(flags.strategy, types, flags.analysis);
  const progress = createProgress("inject", (await countRows(flags.input)) * jobsPerRow(strategy));
  const tally = { accepted: 0, rejected: 0, pending: 0 };
  try {
    const result = await runInject({
      input: flags.input,
      outDir: flags.out,
      format: flags.format === "auto" ? undefined : flags.format,
      strategy,
      injectorName: injector.name,
      injector: injector.model,
      judge: judge?.model,
      seed: flags.seed,
      window: 2 * flags.injector.concurrency,
      maxTokens: flags.maxTokens,
      temperature: flags.temperature,
      verify: flags.verify,
      skipInvalid: flags.skipInvalid,
      retryRejects: flags.retryRejects,
      onJobDone: ({ accepted, deferred }) => {
        if (deferred) tally.pending++;
        else if (accepted) tally.accepted++;
        else tally.rejected++;
        progress.set({ ...tally, retries: retries.count });
        progress.increment();
      },
    });
    progress.stop();
    const batchFiles = batch?.close() ?? [];
    await batch?.checkAllMatched(requestCacheDir(flags));
    const separateJudge = judge && judge !== injector ? judge : undefined;
    const cacheStats = [injector, separateJudge].map((model) => model?.model.cacheStats ?? { hits: 0, misses: 0 });
    await exportDatasets(flags.out, strategy, flags.seed, {
      retries: retries.count,
      cacheHits: cacheStats[0]!.hits + cacheStats[1]!.hits,
      cacheMisses: cacheStats[0]!.misses + cacheStats[1]!.misses,
    });
    const endpoints = endpointsByRole({ injector, judge: separateJudge });
    const stats = addRunDetails(flags.out, {
      pendingJobs: result.deferred,
      retriedRejects: result.retried,
      ...(endpoints && { endpoints }),
    });
    console.log(injectSummary(stats, result, flags.out));
    if (batch) console.log(batchSummary(batch.counts, result.deferred, batchFiles));
  } finally {
    await models.close();
  }
}

/** Requests per input row, for the progress bar's total: `all` and `mixed` send one per type. */
function jobsPerRow(strategy: Strategy): number {
  return strategy.kind === "all" || strategy.kind === "mixed" ? strategy.types.length : 1;
}

function injectSummary(stats: InjectStats, result: InjectResult, outDir: string): string {
  const { newJobs, skippedJobs, retried, deferred } = result;
  const retriedText = Object.keys(retried).length ? `, ${formatCounts(retried)} rejects moved back to pending` : "";
  return [
    `inject: ${newJobs} requests this run, ${skippedJobs} already done (resumed)${retriedText}${deferred ? `, ${deferred} pending` : ""}`,
    `accepted ${stats.accepted} · rejected ${stats.rejected} (${formatCounts(stats.rejectsByReason)}) · pairs ${stats.pairs}`,
    `by type: ${formatCounts(stats.acceptedByType)} · retries ${stats.retries} · tokens in ${stats.tokens.input} out ${stats.tokens.output}`,
    ...endpointLines(stats.endpoints),
    `wrote ${outDir}/{negatives,rejects,dpo,dpo_conversational,dpo_multi,kto,kto_conversational}.jsonl, llamafactory/, stats.json`,
  ].join("\n");
}

export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k} ${v}`).join(", ");
}
