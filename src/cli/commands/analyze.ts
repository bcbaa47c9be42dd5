import { join } from "node:path";
import { Command } from "commander";
import { InputError } from "../../errors.js";
import { addModelOptions, modelFromOptions } from "../../llm/options.js";
import { formatAnalysis, llmClassifier, runAnalyze } from "../../negatives/analyze.js";
import { loadErrorTypes } from "../../negatives/error-types.js";
import { countRows } from "../count-rows.js";
import { createProgress } from "../progress.js";

export function registerAnalyzeCommand(program: Command): void {
  const command = program
    .command("analyze")
    .summary("classify a model's wrong answers by error type and write the distribution")
    .description(
      "Reads a model's answers with reference answers ({id?, prompt, response, reference} JSONL), asks a judge LLM whether " +
        "each answer is correct and, if not, which error type explains the mistake. Writes judgments.jsonl and analysis.json " +
        "to --out and prints the table. `seapo inject --strategy most-common|weighted --analysis <out>/analysis.json` uses it. " +
        "Re-running the same command resumes.",
    )
    .requiredOption(
      "--input <file>",
      "JSONL rows {id?, prompt, response, reference} (aliases: question, answer/output, gold/target)",
    )
    .requiredOption("--out <dir>", "output folder (created; reused to resume)")
    .option("--error-types <file>", "YAML/JSON file of extra error types ({name, description, examples?})")
    .option("--cache-dir <dir>", "request cache folder (default: <out>/cache)")
    .option("--no-cache", "do not read or write the request cache");
  addModelOptions(command);
  command.action(async (options: Record<string, unknown>) => {
    const outDir = options.out as string;
    const cacheDir =
      options.cache === false ? undefined : ((options.cacheDir as string | undefined) ?? join(outDir, "cache"));
    const judge = await modelFromOptions(options, { cacheDir });
    if (!judge)
      throw new InputError(
        "command line",
        undefined,
        undefined,
        "no judge model",
        "give --base-url and --model, --gguf, or --hf",
      );
    const types = await loadErrorTypes(options.errorTypes as string | undefined);
    const progress = createProgress("analyze", await countRows(options.input as string));
    try {
      const analysis = await runAnalyze({
        input: options.input as string,
        outDir,
        classifier: llmClassifier(judge.model, types),
        judgeName: judge.name,
        types,
        window: 2 * (options.concurrency as number),
        onRowDone: () => progress.increment(),
      });
      progress.stop();
      console.log(formatAnalysis(analysis));
      console.log(`wrote ${outDir}/analysis.json and judgments.jsonl`);
    } finally {
      await judge.model.close?.();
    }
  });
}
