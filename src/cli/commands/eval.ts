import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, Option } from "commander";
import { InputError } from "../../errors.js";
import {
  buildResultsFile,
  DEFAULT_FEWSHOT_SEED,
  formatComparison,
  readResults,
  resolveDataDir,
  resolveTaskNames,
  runEval,
  TASK_GROUPS,
  TASK_NAMES,
  TASKS,
  writeResults,
  type ModelIdentity,
} from "../../eval/index.js";
import { addModelOptions, modelFromOptions, nonNegativeInt, positiveInt } from "../../llm/options.js";
import type { LanguageModel } from "../../llm/provider.js";
import { createProgress, type Progress } from "../progress.js";
import { packageVersion } from "../../version.js";

export function registerEvalCommand(program: Command): void {
  const evalCommand = program
    .command("eval")
    .summary("score a model on TruthfulQA, MMLU, ARC, GSM8K, MATH, BBH and HumanEval as lm-evaluation-harness does")
    .description(
      "`seapo eval --tasks … --out results.json [model options]` runs the tasks (the default subcommand); " +
        "`seapo eval compare A.json B.json …` puts results side by side; `seapo eval tasks` lists the tasks.",
    );

  const run = evalCommand
    .command("run", { isDefault: true })
    .summary("run tasks and write results.json")
    .description(
      "Builds each task's prompts exactly as lm-evaluation-harness does, sends them to the model (raw prompts, no chat " +
        "template), scores the answers and writes every metric with its standard error, the configuration, the model's " +
        "identity and the sha256 of each data file to --out. Requests are cached, so a re-run costs nothing.",
    )
    .requiredOption(
      "--tasks <names>",
      `comma-separated tasks or groups (${[...TASK_NAMES, ...Object.keys(TASK_GROUPS)].join(", ")})`,
    )
    .requiredOption("--out <file>", "results file to write (JSON)")
    .option(
      "--data-dir <dir>",
      "benchmark data folder (default: $SEAPO_DATA_DIR, else ../shared/data next to the repository)",
    )
    .addOption(
      new Option("--limit <n>", "examples per task (per subject/subtask for mmlu and bbh)").argParser(positiveInt),
    )
    .addOption(
      new Option("--num-fewshot <n>", "exemplars per prompt instead of each task's standard count").argParser(
        nonNegativeInt,
      ),
    )
    .addOption(
      new Option("--fewshot-seed <n>", "seed of the few-shot sampler (tasks that draw exemplars at random)")
        .default(DEFAULT_FEWSHOT_SEED)
        .argParser(nonNegativeInt),
    )
    .addOption(
      new Option("--max-gen-tokens <n>", "generation length instead of each task's default").argParser(positiveInt),
    )
    .option(
      "--log-samples",
      "also write every example's prompts, outputs, extracted answers and scores to <out>.samples.jsonl",
    )
    .option("--cache-dir <dir>", "request cache folder (default: cache/ next to --out)")
    .option("--no-cache", "do not read or write the request cache")
    .option("--python <bin>", "Python interpreter for HumanEval's sandbox", "python3")
    .addOption(
      new Option("--sandbox-timeout <ms>", "wall-clock limit per HumanEval program")
        .default(10_000)
        .argParser(positiveInt),
    );
  addModelOptions(run);
  run.action(async (options: Record<string, unknown>) => {
    const tasks = resolveTaskNames(options.tasks as string);
    const out = resolve(options.out as string);
    const dataDir = resolveDataDir(options.dataDir as string | undefined);
    const cacheDir =
      options.cache === false
        ? undefined
        : resolve((options.cacheDir as string | undefined) ?? join(dirname(out), "cache"));
    const built = await modelFromOptions(options, { cacheDir });
    if (!built)
      throw new InputError(
        "command line",
        undefined,
        undefined,
        "no model to evaluate",
        "give --base-url and --model, --gguf, or --hf",
      );
    const concurrency = options.concurrency as number;
    let progress: Progress | undefined;
    let reported = 0;
    try {
      const identity = await modelIdentity(options, built.model);
      const result = await runEval(built.model, {
        tasks,
        dataDir,
        limit: options.limit as number | undefined,
        numFewshot: options.numFewshot as number | undefined,
        fewshotSeed: options.fewshotSeed as number,
        maxGenTokens: options.maxGenTokens as number | undefined,
        concurrency,
        logSamples: Boolean(options.logSamples),
        sandbox: { python: options.python as string, timeoutMs: options.sandboxTimeout as number },
        onProgress: ({ task, done, total }) => {
          progress ??= createProgress("eval", total);
          progress.set({ task });
          progress.increment(done - reported);
          reported = done;
        },
      });
      progress?.stop();
      const file = buildResultsFile(result, {
        seapoVersion: packageVersion(),
        model: identity,
        cacheStats: cacheDir ? built.model.cacheStats : undefined,
        config: {
          tasks,
          limit: options.limit ?? null,
          numFewshot: options.numFewshot ?? null,
          maxGenTokens: options.maxGenTokens ?? null,
          concurrency,
          logSamples: Boolean(options.logSamples),
          cacheDir: cacheDir ?? null,
        },
      });
      const written = writeResults(out, file, result);
      console.log(formatComparison([{ label: "value ± stderr", results: file }]));
      if (cacheDir)
        console.log(
          `requests: ${result.requests} (cache: ${built.model.cacheStats.hits} hits, ${built.model.cacheStats.misses} sent)`,
        );
      console.log(`wrote ${written.join(", ")}`);
    } finally {
      await built.model.close?.();
    }
  });

  evalCommand
    .command("compare")
    .summary("compare results files side by side")
    .description(
      "Prints every metric of each file with its stderr, and the difference of each later file to the first; differences within noise (|Δ| < 2·sqrt(se₁² + se₂²)) are marked ~.",
    )
    .argument("<files...>", "results.json files written by `seapo eval`")
    .action(async (files: string[]) => {
      if (files.length < 2)
        throw new InputError("command line", undefined, undefined, "compare needs at least two results files");
      const loaded = await Promise.all(
        files.map(async (path, i) => ({ label: String.fromCharCode(65 + i), path, results: await readResults(path) })),
      );
      for (const f of loaded) console.log(`${f.label} = ${f.path}`);
      console.log("");
      console.log(formatComparison(loaded));
    });

  evalCommand
    .command("tasks")
    .summary("list the tasks with their dimension and metrics")
    .action(() => {
      const width = Math.max(...TASK_NAMES.map((n) => n.length));
      for (const name of TASK_NAMES) {
        const task = TASKS[name];
        console.log(
          `${name.padEnd(width)}  ${task.dimension.padEnd(12)}  ${task.metrics.join(", ")}\n${" ".repeat(width + 2)}${task.description}`,
        );
      }
      console.log(
        `\ngroups: ${Object.entries(TASK_GROUPS)
          .map(([g, t]) => `${g} = ${t.join(",")}`)
          .join("; ")}`,
      );
    });
}

async function modelIdentity(options: Record<string, unknown>, model: LanguageModel): Promise<ModelIdentity> {
  const gguf = options.gguf as string | undefined;
  if (gguf)
    return {
      kind: "gguf",
      provider: model.provider,
      modelId: model.modelId,
      path: resolve(gguf),
      sha256: await sha256Files([gguf]),
    };
  const hf = options.hf as string | undefined;
  if (hf) {
    // The weights' identity: config plus every safetensors file, in name order.
    const files = (await readdir(hf)).filter((f) => f === "config.json" || f.endsWith(".safetensors")).sort();
    return {
      kind: "hf",
      provider: model.provider,
      modelId: model.modelId,
      path: resolve(hf),
      sha256: await sha256Files(files.map((f) => join(hf, f))),
    };
  }
  const baseURL = options.baseUrl as string | undefined;
  if (baseURL)
    return {
      kind: "openai-compatible",
      provider: model.provider,
      modelId: model.modelId,
      baseURL,
      model: options.model as string,
    };
  return { kind: "other", provider: model.provider, modelId: model.modelId };
}

async function sha256Files(paths: string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const path of paths) {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}
