import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { InputError } from "../../errors.js";
import { BATCH_LIMITS } from "../../llm/index.js";
import {
  buildResultsFile,
  DEFAULT_FEWSHOT_SEED,
  formatComparison,
  HARNESSES,
  harnessTasks,
  readResults,
  resolveDataDir,
  resolveTaskNames,
  runEval,
  TASK_GROUPS,
  TASK_NAMES,
  parseTaskVersions,
  taskVersionChoices,
  writeResults,
  type EvalRun,
  type ModelIdentity,
  type ResultsFile,
  type RunOptions,
} from "../../eval/index.js";
import type { BatchSession, CachedModel, OpenedModel } from "../../llm/index.js";
import { packageVersion } from "../../version.js";
import { modelOptionsSchema, openModelFromOptions, type ModelOptions } from "../model-options.js";
import { addSchemaOptions, parseFlags } from "../schema-options.js";
import { createProgress, type Progress } from "../progress.js";
import { batchOptions, batchSession } from "../batch-options.js";
import { evalBatchLines, evalEndpointLines, LOGLIKELIHOOD_BATCH_REASON, pendingLines } from "./eval-summary.js";

const count = z.number().int();

/** "truthfulqa_mc2: 3.0, 2.0; …" for the tasks with more than one version. */
function versionedTasks(): string {
  return TASK_NAMES.filter((n) => taskVersionChoices(n).length > 1)
    .map((n) => `${n}: ${taskVersionChoices(n).join(" or ")}`)
    .join("; ");
}

/** Every option of `seapo eval run`: flag, help line, default and range in one place. */
export const evalRunFlagsSchema = z.object({
  tasks: z.string().meta({
    description: `comma-separated tasks or groups (${[...TASK_NAMES, ...Object.keys(TASK_GROUPS)].join(", ")})`,
    flag: "--tasks <names>",
    mandatory: true,
  }),
  out: z.string().meta({ description: "results file to write (JSON)", flag: "--out <file>", mandatory: true }),
  harness: z.enum(HARNESSES).default("lm-eval").meta({
    description:
      "whose prompts and scoring: lm-eval (lm-evaluation-harness) or seapo-paper (the SeaPO release's open-instruct scripts; the paper group's tasks only)",
    flag: "--harness <name>",
  }),
  dataDir: z.string().optional().meta({
    description: "benchmark data folder (default: $SEAPO_DATA_DIR, else ../shared/data next to the repository)",
    flag: "--data-dir <dir>",
  }),
  limit: count.positive().optional().meta({ description: "examples per task (per subject/subtask for mmlu and bbh)" }),
  numFewshot: count
    .min(0)
    .optional()
    .meta({ description: "exemplars per prompt instead of each task's standard count" }),
  fewshotSeed: count
    .min(0)
    .default(DEFAULT_FEWSHOT_SEED)
    .meta({ description: "seed of the few-shot sampler (tasks that draw exemplars at random)" }),
  maxGenTokens: count.positive().optional().meta({ description: "generation length instead of each task's default" }),
  batchSize: count.positive().default(1).meta({
    description:
      "log-likelihood prompts per request to an OpenAI-compatible server (prompt: [...] on legacy completions, as lm-evaluation-harness's local-completions does); scores equal one at a time",
    flag: "--batch-size <n>",
  }),
  taskVersion: z
    .string()
    .optional()
    .meta({
      description: `lm-evaluation-harness task versions to reproduce where they differ, as task=version,… (${versionedTasks()}; default: the harness's current version)`,
      flag: "--task-version <task=version,...>",
    }),
  logSamples: z.boolean().default(false).meta({
    description: "also write every example's prompts, outputs, extracted answers and scores to <out>.samples.jsonl",
  }),
  cacheDir: z
    .string()
    .optional()
    .meta({ description: "request cache folder (default: cache/ next to --out)", flag: "--cache-dir <dir>" }),
  cache: z.boolean().default(true).meta({ description: "do not read or write the request cache" }),
  python: z
    .string()
    .min(1)
    .default("python3")
    .meta({ description: "Python interpreter for HumanEval's sandbox", flag: "--python <bin>" }),
  sandboxTimeout: count
    .positive()
    .default(10_000)
    .meta({ description: "wall-clock limit per HumanEval program", flag: "--sandbox-timeout <ms>" }),
  batchOut: batchOptions.batchOut.meta({
    ...batchOptions.batchOut.meta(),
    description:
      "generation tasks (GSM8K, MATH, BBH, HumanEval): write the generations not yet answered into this folder as " +
      "OpenAI Batch JSONL (/v1/completions, the body a live run sends; at most " +
      `${BATCH_LIMITS.maxRequests.toLocaleString("en")} requests and ${BATCH_LIMITS.maxBytes / 2 ** 20} MB per file) ` +
      "instead of sending them; log-likelihood tasks (MMLU, TruthfulQA, ARC) are skipped and counted, as batch runners " +
      "give no prompt log-probs; give --model, not --base-url",
  }),
  batchIn: batchOptions.batchIn.meta({
    ...batchOptions.batchIn.meta(),
    description:
      "OpenAI Batch result files answering --batch-out's requests, in any order and any split; every task whose " +
      "requests are all answered is scored, the others stay pending (listed in the summary and in results.json); " +
      "the answers go into the request cache",
  }),
  model: modelOptionsSchema().prefault({}),
});
export type EvalRunFlags = z.output<typeof evalRunFlagsSchema>;

export function registerEvalCommand(program: Command): void {
  const evalCommand = program
    .command("eval")
    .summary("score a model on TruthfulQA, MMLU, ARC, GSM8K, MATH, BBH and HumanEval as lm-evaluation-harness does")
    .description(
      "`seapo eval --tasks … --out results.json [model options]` runs the tasks (the default subcommand); " +
        "`seapo eval compare A.json B.json …` puts results side by side; `seapo eval tasks` lists the tasks.",
    );
  registerRun(evalCommand);
  registerCompare(evalCommand);
  registerTasks(evalCommand);
}

function registerRun(evalCommand: Command): void {
  const run = evalCommand
    .command("run", { isDefault: true })
    .summary("run tasks and write results.json")
    .description(
      "Builds each task's prompts exactly as lm-evaluation-harness does (with --harness seapo-paper: as the SeaPO release's open-instruct scripts do), sends them to the model (raw prompts, no chat " +
        "template), scores the answers and writes every metric with its standard error, the configuration, the model's " +
        "identity and the sha256 of each data file to --out. Requests are cached, so a re-run costs nothing.",
    );
  addSchemaOptions(run, evalRunFlagsSchema).action((_options: unknown, cmd: Command) =>
    runEvalCommand(parseFlags(evalRunFlagsSchema, cmd)),
  );
}

async function runEvalCommand(flags: EvalRunFlags): Promise<void> {
  const tasks = resolveTaskNames(flags.tasks);
  // Bad flags fail before a model is opened.
  const options = runOptions(flags, tasks);
  const out = resolve(flags.out);
  const cacheDir = flags.cache ? resolve(flags.cacheDir ?? join(dirname(out), "cache")) : undefined;
  const batch = await batchSession(flags);
  const built = await openModelFromOptions(flags.model, { cacheDir, batchSize: flags.batchSize, batch });
  if (!built)
    throw new InputError(
      "command line",
      undefined,
      undefined,
      "no model to evaluate",
      batch ? "give --model, the model the batch files are for" : "give --base-url and --model, --gguf, or --hf",
    );
  const progress = progressBar();
  try {
    const identity = await modelIdentity(flags.model, built);
    const skip = batch ? { skipLoglikelihood: LOGLIKELIHOOD_BATCH_REASON } : {};
    const result = await runEval(built.model, { ...options, ...skip, onProgress: progress.update });
    progress.stop();
    const file = buildResultsFile(result, {
      seapoVersion: packageVersion(),
      model: identity,
      cacheStats: cacheDir ? built.model.cacheStats : undefined,
      ...(batch && { batch: await closeBatch(batch, cacheDir) }),
      ...(built.endpointStats && { endpoints: built.endpointStats() }),
      config: {
        tasks,
        harness: flags.harness,
        limit: flags.limit ?? null,
        numFewshot: flags.numFewshot ?? null,
        maxGenTokens: flags.maxGenTokens ?? null,
        concurrency: flags.model.concurrency,
        batchSize: flags.batchSize,
        logSamples: flags.logSamples,
        cacheDir: cacheDir ?? null,
      },
    });
    const written = writeResults(out, file, result);
    printSummary(file, result, cacheDir ? built.model : undefined, written);
  } finally {
    await built.model.close?.();
  }
}

/** Closes the request files and refuses results no request of this run (or the cache) claims. */
async function closeBatch(
  batch: BatchSession,
  cacheDir: string | undefined,
): Promise<NonNullable<ResultsFile["batch"]>> {
  const files = batch.close();
  await batch.checkAllMatched(cacheDir);
  return { ...batch.counts, files };
}

function runOptions(flags: EvalRunFlags, tasks: RunOptions["tasks"]): RunOptions {
  return {
    tasks,
    harness: flags.harness,
    dataDir: resolveDataDir(flags.dataDir),
    limit: flags.limit,
    numFewshot: flags.numFewshot,
    fewshotSeed: flags.fewshotSeed,
    maxGenTokens: flags.maxGenTokens,
    taskVersions: flags.taskVersion === undefined ? undefined : parseTaskVersions(flags.taskVersion),
    // Enough examples in flight to fill every request slot with a whole batch.
    concurrency: flags.model.concurrency * flags.batchSize,
    logSamples: flags.logSamples,
    sandbox: { python: flags.python, timeoutMs: flags.sandboxTimeout },
  };
}

/** The bar appears with the first finished example, when the total is known. */
function progressBar(): { update: NonNullable<RunOptions["onProgress"]>; stop(): void } {
  let progress: Progress | undefined;
  let reported = 0;
  return {
    update: ({ task, done, total }) => {
      progress ??= createProgress("eval", total);
      progress.set({ task });
      progress.increment(done - reported);
      reported = done;
    },
    stop: () => progress?.stop(),
  };
}

function printSummary(file: ResultsFile, result: EvalRun, cached: CachedModel | undefined, written: string[]): void {
  if (Object.keys(file.results).length > 0) console.log(formatComparison([{ label: "value ± stderr", results: file }]));
  for (const line of [...pendingLines(result), ...evalBatchLines(file), ...evalEndpointLines(file)]) console.log(line);
  // With batch files nothing is sent: the requests not cached were answered from them or written.
  const misses = file.batch ? "from or to batch files" : "sent";
  if (cached)
    console.log(
      `requests: ${result.requests} (cache: ${cached.cacheStats.hits} hits, ${cached.cacheStats.misses} ${misses})`,
    );
  console.log(`wrote ${written.join(", ")}`);
}

function registerCompare(evalCommand: Command): void {
  evalCommand
    .command("compare")
    .summary("compare results files side by side")
    .description(
      "Prints every metric of each file with its stderr, and the difference of each later file to the first; differences within noise (|Δ| < 2·sqrt(se₁² + se₂²)) are marked ~.",
    )
    .argument("<files...>", "results.json files written by `seapo eval`")
    .option("--force", "compare files from different harnesses (their prompts and scoring differ)", false)
    .action(async (files: string[], options: { force: boolean }) => {
      if (files.length < 2)
        throw new InputError("command line", undefined, undefined, "compare needs at least two results files");
      const loaded = await Promise.all(
        files.map(async (path, i) => ({ label: String.fromCharCode(65 + i), path, results: await readResults(path) })),
      );
      refuseMixedHarnesses(loaded, options.force);
      for (const f of loaded) console.log(`${f.label} = ${f.path}`);
      console.log("");
      console.log(formatComparison(loaded));
    });
}

/** Numbers from different harnesses are not comparable: refused unless --force (then formatComparison warns). */
function refuseMixedHarnesses(files: ReadonlyArray<{ path: string; results: ResultsFile }>, force: boolean): void {
  const harnesses = new Set(files.map((f) => f.results.harness));
  if (harnesses.size < 2 || force) return;
  throw new InputError(
    files.find((f) => f.results.harness !== files[0]!.results.harness)!.path,
    undefined,
    "harness",
    `the files come from different harnesses (${files.map((f) => `${f.path}: ${f.results.harness}`).join(", ")}), whose prompts and scoring differ`,
    "compare runs of one harness, or give --force to print them side by side anyway",
  );
}

/** `seapo eval tasks`: which harness's table to list (the same flag as the run's). */
const evalTasksFlagsSchema = z.object({ harness: evalRunFlagsSchema.shape.harness });

function registerTasks(evalCommand: Command): void {
  const tasks = evalCommand.command("tasks").summary("list the tasks of a harness with their dimension and metrics");
  addSchemaOptions(tasks, evalTasksFlagsSchema).action((_options: unknown, cmd: Command) => {
    const { harness } = parseFlags(evalTasksFlagsSchema, cmd);
    const table = harnessTasks(harness);
    const width = Math.max(...table.map(([n]) => n.length));
    const indent = " ".repeat(width + 2);
    for (const [name, task] of table) {
      const { current, older = [] } = task.versions;
      // lm-eval's versions are numbers ("v3.0"); seapo-paper's name its source ("oi-8b90699+seapo").
      const version = /^\d/.test(current) ? `v${current}` : current;
      const source = `${harness} ${task.harnessTask} ${version}${older.length > 0 ? ` (also: ${older.join(", ")})` : ""}`;
      console.log(
        `${name.padEnd(width)}  ${task.dimension.padEnd(12)}  ${task.metrics.join(", ")}\n${indent}${task.description}\n${indent}${source}`,
      );
    }
    // The groups this harness runs whole.
    const names = new Set(table.map(([n]) => n));
    const groups = Object.entries(TASK_GROUPS).filter(([, t]) => t.every((n) => names.has(n)));
    console.log(`\ngroups: ${groups.map(([g, t]) => `${g} = ${t.join(",")}`).join("; ")}`);
  });
}

async function modelIdentity(flags: ModelOptions, opened: OpenedModel): Promise<ModelIdentity> {
  const { provider, modelId } = opened.model;
  if (flags.gguf)
    return { kind: "gguf", provider, modelId, path: resolve(flags.gguf), sha256: await sha256Files([flags.gguf]) };
  if (flags.hf) {
    // The weights' identity: config plus every safetensors file, in name order.
    const hf = flags.hf;
    const files = (await readdir(hf)).filter((f) => f === "config.json" || f.endsWith(".safetensors")).sort();
    return {
      kind: "hf",
      provider,
      modelId,
      path: resolve(hf),
      sha256: await sha256Files(files.map((f) => join(hf, f))),
    };
  }
  // Servers from --base-url or --endpoints: their URLs, and the model they serve.
  const servers = opened.endpointStats?.() ?? [];
  if (servers.length > 0) {
    const baseURL = servers.map((e) => e.url).join(",");
    return { kind: "openai-compatible", provider, modelId, baseURL, model: servers[0]!.model };
  }
  return { kind: "other", provider, modelId };
}

async function sha256Files(paths: string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const path of paths) {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}
