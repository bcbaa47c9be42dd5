import { join } from "node:path";
import { Command, Option } from "commander";
import { SOURCE_FORMATS } from "../../data/index.js";
import { InputError } from "../../errors.js";
import { addModelOptions, modelFromOptions, positiveInt } from "../../llm/options.js";
import { loadErrorTypes } from "../../negatives/error-types.js";
import { exportDatasets } from "../../negatives/datasets.js";
import { runInject } from "../../negatives/inject.js";
import { parseStrategy, strategyNames } from "../../negatives/strategy.js";
import { defaultVerifyOptions } from "../../negatives/verify.js";
import { countRows } from "../count-rows.js";
import { createProgress } from "../progress.js";

export function registerInjectCommand(program: Command): void {
  const command = program
    .command("inject")
    .summary("rewrite good answers into verified, typed negatives and export KTO/DPO datasets")
    .description(
      "Reads prompts with their good answer, asks an injector LLM to rewrite each answer with one error of a chosen type, " +
        "verifies every rewrite, and writes negatives.jsonl, rejects.jsonl, dpo.jsonl, dpo_conversational.jsonl, kto.jsonl, " +
        "llamafactory/ and stats.json to --out. Re-running the same command resumes: finished requests are not sent again.",
    )
    .requiredOption(
      "--input <file>",
      "input rows: UltraFeedback-binarized, {id?, prompt, response} JSONL, chat messages, or LLaMA-Factory sharegpt/alpaca",
    )
    .requiredOption("--out <dir>", "output folder (created; reused to resume)")
    .addOption(new Option("--format <format>", "input format").choices(SOURCE_FORMATS).default("auto"))
    .addOption(
      new Option("--strategy <strategy>", `which error types to inject: ${strategyNames.join(" | ")}`).default("mixed"),
    )
    .option("--analysis <file>", "analysis.json from `seapo analyze`, for --strategy most-common or weighted")
    .option(
      "--error-types <file>",
      "YAML/JSON file of extra error types ({name, description, examples?}); they join the built-in three",
    )
    .addOption(
      new Option("--seed <n>", "seed for every random choice (mixed, weighted) and for sampling")
        .default(0)
        .argParser(Number),
    )
    .addOption(
      new Option("--max-tokens <n>", "new-token limit per rewrite (the paper: 1024)")
        .default(1024)
        .argParser(positiveInt),
    )
    .addOption(
      new Option("--temperature <t>", "sampling temperature (the paper: 0, greedy)").default(0).argParser(Number),
    )
    .addOption(
      new Option(
        "--min-edit-distance <d>",
        "reject rewrites whose normalised edit distance to the positive is at or below this",
      )
        .default(defaultVerifyOptions.minEditDistance)
        .argParser(Number),
    )
    .addOption(
      new Option("--min-length-ratio <r>", "reject rewrites shorter than this fraction of the positive")
        .default(defaultVerifyOptions.minLengthRatio)
        .argParser(Number),
    )
    .addOption(
      new Option("--max-length-ratio <r>", "reject rewrites longer than this multiple of the positive")
        .default(defaultVerifyOptions.maxLengthRatio)
        .argParser(Number),
    )
    .option(
      "--judge",
      "ask a judge LLM to confirm each negative carries the intended error (set it with the --judge-* options; defaults to the injector)",
    )
    .option("--skip-invalid", "send malformed input rows to rejects.jsonl and go on, instead of stopping at the first")
    .option("--cache-dir <dir>", "request cache folder (default: <out>/cache)")
    .option("--no-cache", "do not read or write the request cache");
  addModelOptions(command);
  addModelOptions(command, "judge");
  command.action(async (options: Record<string, unknown>) => {
    const outDir = options.out as string;
    const cacheDir =
      options.cache === false ? undefined : ((options.cacheDir as string | undefined) ?? join(outDir, "cache"));
    const counters = { retries: 0 };
    const onRetry = () => counters.retries++;
    const injector = await modelFromOptions(options, { cacheDir, onRetry });
    if (!injector) {
      throw new InputError(
        "command line",
        undefined,
        undefined,
        "no injector model",
        "give --base-url and --model, --gguf, or --hf",
      );
    }
    const judge = options.judge
      ? ((await modelFromOptions(options, { prefix: "judge", cacheDir, onRetry })) ?? injector)
      : undefined;
    const types = await loadErrorTypes(options.errorTypes as string | undefined);
    const strategy = await parseStrategy(options.strategy as string, types, options.analysis as string | undefined);
    const seed = options.seed as number;
    const perRow = strategy.kind === "all" || strategy.kind === "mixed" ? strategy.types.length : 1;
    const progress = createProgress("inject", (await countRows(options.input as string)) * perRow);
    let accepted = 0;
    let rejected = 0;
    try {
      const { newJobs, skippedJobs } = await runInject({
        input: options.input as string,
        outDir,
        format: options.format === "auto" ? undefined : (options.format as never),
        strategy,
        injectorName: injector.name,
        injector: injector.model,
        judge: judge?.model,
        seed,
        window: 2 * (options.concurrency as number),
        maxTokens: options.maxTokens as number,
        temperature: options.temperature as number,
        verify: {
          minEditDistance: options.minEditDistance as number,
          minLengthRatio: options.minLengthRatio as number,
          maxLengthRatio: options.maxLengthRatio as number,
        },
        skipInvalid: Boolean(options.skipInvalid),
        onJobDone: ({ accepted: ok }) => {
          if (ok) accepted++;
          else rejected++;
          progress.set({ accepted, rejected, retries: counters.retries });
          progress.increment();
        },
      });
      progress.stop();
      const stats = await exportDatasets(outDir, strategy, seed, {
        retries: counters.retries,
        cacheHits: injector.model.cacheStats.hits + (judge && judge !== injector ? judge.model.cacheStats.hits : 0),
        cacheMisses:
          injector.model.cacheStats.misses + (judge && judge !== injector ? judge.model.cacheStats.misses : 0),
      });
      console.log(
        [
          `inject: ${newJobs} requests this run, ${skippedJobs} already done (resumed)`,
          `accepted ${stats.accepted} · rejected ${stats.rejected} (${formatCounts(stats.rejectsByReason)}) · pairs ${stats.pairs}`,
          `by type: ${formatCounts(stats.acceptedByType)} · retries ${stats.retries} · tokens in ${stats.tokens.input} out ${stats.tokens.output}`,
          `wrote ${outDir}/{negatives,rejects,dpo,dpo_conversational,kto}.jsonl, llamafactory/, stats.json`,
        ].join("\n"),
      );
    } finally {
      await injector.model.close?.();
      if (judge && judge !== injector) await judge.model.close?.();
    }
  });
}

export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k} ${v}`).join(", ");
}
