import PQueue from "p-queue";
import { InputError, SeapoError, UnsupportedError } from "../errors.js";
import { DataReader } from "./data.js";
import type { Harness, SampleRecord } from "./file-schemas.js";
import { HARNESS_COMMITS, harnessTask } from "./harnesses/index.js";
import { truncateAtStop } from "./extract.js";
import { mean, meanStderr, pooledStderr } from "./metrics.js";
import { createSandbox, type SandboxIsolation, type SandboxOptions } from "./sandbox.js";
import { resolveTaskVersions, type TaskName } from "./tasks/index.js";
import type {
  Dimension,
  EvalInstance,
  EvalRequest,
  EvalResponse,
  InstanceScore,
  LoadedTask,
  ScoreContext,
  TaskDefinition,
} from "./types.js";
import { type LanguageModel } from "../llm/index.js";

export interface MetricValue {
  value: number;
  /** Standard error of the value; null when it cannot be estimated (fewer than two examples). */
  stderr: number | null;
}

export interface MetricTable {
  n: number;
  metrics: Record<string, MetricValue>;
}

export interface TaskResult extends MetricTable {
  dimension: Dimension;
  description: string;
  harnessTask: string;
  /** The harness's metadata.version of the task whose prompts and scores this run reproduced. */
  harnessVersion: string;
  numFewshot: number;
  settings: Record<string, unknown>;
  /** MMLU's categories: size-weighted means of their subjects, pooled stderr. */
  groups?: Record<string, MetricTable>;
  /** MMLU subjects, BBH tasks. */
  subtasks?: Record<string, MetricTable>;
}

export interface RunOptions {
  tasks: readonly TaskName[];
  /** Whose prompts and scoring: lm-evaluation-harness's (the default) or the SeaPO release's open-instruct. */
  harness?: Harness;
  dataDir: string;
  limit?: number;
  numFewshot?: number;
  /** Seed of the few-shot sampler; default 1234 (the harness's). */
  fewshotSeed?: number;
  maxGenTokens?: number;
  /** Harness versions to reproduce instead of each task's current one (see resolveTaskVersions). */
  taskVersions?: Partial<Record<TaskName, string>>;
  /** Examples in flight at once; default 8. */
  concurrency?: number;
  logSamples?: boolean;
  sandbox?: SandboxOptions;
  onProgress?: (event: { task: TaskName; done: number; total: number }) => void;
}

export interface EvalRun {
  harness: Harness;
  /** The commit of the reference code the harness's prompts and scoring follow. */
  harnessCommit: string;
  results: Partial<Record<TaskName, TaskResult>>;
  samples?: Partial<Record<TaskName, SampleRecord[]>>;
  dataDir: string;
  /** Data files read, relative to dataDir → sha256. */
  dataFiles: Record<string, string>;
  sandbox?: SandboxIsolation;
  fewshotSeed: number;
  /** The harness version each task reproduced. */
  taskVersions: Partial<Record<TaskName, string>>;
  requests: number;
  durationMs: number;
}

export const DEFAULT_FEWSHOT_SEED = 1234;

export type { SampleRecord } from "./file-schemas.js";

/** A task with its examples built, ready to send. */
interface LoadedTaskRun extends LoadedTask {
  name: TaskName;
  definition: TaskDefinition;
  taskVersion: string;
}

/** An example's score with the responses it was scored on. */
interface Scored {
  score: InstanceScore;
  responses: EvalResponse[];
}

/** Loads the tasks, sends every request through `model`, scores, and aggregates per task. */
export async function runEval(model: LanguageModel, options: RunOptions): Promise<EvalRun> {
  const started = Date.now();
  const fewshotSeed = options.fewshotSeed ?? DEFAULT_FEWSHOT_SEED;
  const harness = options.harness ?? "lm-eval";
  const data = new DataReader(options.dataDir);
  const loaded = await loadTasks(data, options, fewshotSeed);
  const sandbox = loaded.some((t) => t.definition.needsSandbox) ? await createSandbox(options.sandbox) : undefined;
  const total = loaded.reduce((sum, t) => sum + t.instances.reduce((s, i) => s + i.requests.length, 0), 0);
  const scored = await scoreAll(model, loaded, { sandbox }, total, options);
  const results: EvalRun["results"] = {};
  const samples: NonNullable<EvalRun["samples"]> = {};
  loaded.forEach((task, t) => {
    const rows = task.instances.map((instance, i) => ({ instance, ...scored[t]![i]! }));
    results[task.name] = taskResult(task, rows);
    if (options.logSamples) samples[task.name] = rows.map(sampleRecord);
  });
  return {
    harness,
    harnessCommit: HARNESS_COMMITS[harness],
    results,
    ...(options.logSamples && { samples }),
    dataDir: options.dataDir,
    dataFiles: Object.fromEntries([...data.hashes].sort(([a], [b]) => (a < b ? -1 : 1))),
    ...(sandbox && { sandbox: sandbox.isolation }),
    fewshotSeed,
    taskVersions: Object.fromEntries(loaded.map((t) => [t.name, t.taskVersion])),
    requests: total,
    durationMs: Date.now() - started,
  };
}

async function loadTasks(data: DataReader, options: RunOptions, fewshotSeed: number): Promise<LoadedTaskRun[]> {
  const loaded: LoadedTaskRun[] = [];
  const harness = options.harness ?? "lm-eval";
  const asked = options.taskVersions ?? {};
  if (harness !== "lm-eval" && Object.keys(asked).length > 0)
    throw new InputError(
      "--task-version",
      undefined,
      undefined,
      `the ${harness} harness has one version per task`,
      "drop --task-version",
    );
  const versions = resolveTaskVersions(options.tasks, asked);
  for (const name of options.tasks) {
    const definition = harnessTask(harness, name);
    const taskVersion = harness === "lm-eval" ? versions[name]! : definition.versions.current;
    const task = await definition.load(data, {
      limit: options.limit,
      numFewshot: options.numFewshot,
      fewshotSeed,
      maxGenTokens: options.maxGenTokens,
      taskVersion,
    });
    loaded.push({ name, definition, taskVersion, ...task });
  }
  return loaded;
}

/** Scores every example, `options.concurrency` at a time; the first failure stops the rest and is thrown. */
async function scoreAll(
  model: LanguageModel,
  loaded: readonly LoadedTaskRun[],
  context: ScoreContext,
  total: number,
  options: Pick<RunOptions, "concurrency" | "onProgress">,
): Promise<Scored[][]> {
  let done = 0;
  const queue = new PQueue({ concurrency: options.concurrency ?? 8 });
  let failure: unknown;
  const scored = loaded.map((t) => new Array<Scored>(t.instances.length));
  const jobs = loaded.flatMap((task, t) =>
    task.instances.map((instance, i) =>
      queue.add(async () => {
        if (failure !== undefined) return;
        try {
          const responses = await answer(model, instance.requests, task.name);
          scored[t]![i] = { score: await instance.score(responses, context), responses };
          done += instance.requests.length;
          options.onProgress?.({ task: task.name, done, total });
        } catch (error) {
          // The jobs still queued see the failure and return at once.
          failure ??= error;
        }
      }),
    ),
  );
  await Promise.all(jobs);
  if (failure !== undefined) throw failure;
  return scored;
}

function taskResult(task: LoadedTaskRun, rows: ReadonlyArray<{ instance: EvalInstance } & Scored>): TaskResult {
  return {
    dimension: task.definition.dimension,
    description: task.definition.description,
    harnessTask: task.definition.harnessTask,
    harnessVersion: task.taskVersion,
    numFewshot: task.numFewshot,
    settings: task.settings,
    ...aggregate(
      task.definition,
      rows.map((r) => ({ subtask: r.instance.subtask, metrics: r.score.metrics })),
    ),
  };
}

function sampleRecord(row: { instance: EvalInstance } & Scored): SampleRecord {
  return {
    id: row.instance.id,
    ...(row.instance.subtask !== undefined && { subtask: row.instance.subtask }),
    target: row.instance.target,
    requests: row.instance.requests,
    responses: row.responses,
    metrics: row.score.metrics,
    ...(row.score.extracted !== undefined && { extracted: row.score.extracted }),
  };
}

async function answer(model: LanguageModel, requests: readonly EvalRequest[], task: string): Promise<EvalResponse[]> {
  const scoring = requests.flatMap((r, i) => (r.kind === "loglikelihood" ? [{ i, r }] : []));
  const responses = new Array<EvalResponse>(requests.length);
  if (scoring.length > 0) {
    let results;
    try {
      results = await model.logprobs(scoring.map(({ r }) => ({ context: r.context, continuation: r.continuation })));
    } catch (error) {
      if (error instanceof UnsupportedError) {
        throw new SeapoError(
          `${task} scores answers by log-likelihood, and the model (${model.provider}, ${model.modelId}) gives no log-probabilities: ${error.message}. ` +
            "Log-likelihood tasks need prompt log-probs: serve the model with vLLM or SGLang (legacy /v1/completions with echo and logprobs; llama.cpp's llama-server has none), run it in-process with --gguf or --hf, or run only generation tasks.",
        );
      }
      throw error;
    }
    scoring.forEach(({ i }, j) => {
      const result = results[j]!;
      responses[i] = { kind: "loglikelihood", logprob: result.logprob, isGreedy: result.isGreedy };
    });
  }
  await Promise.all(
    requests.map(async (r, i) => {
      if (r.kind !== "generate") return;
      const result = await model.generate({
        prompt: r.prompt,
        maxTokens: r.maxTokens,
        temperature: r.temperature,
        ...(r.topP !== undefined && { topP: r.topP }),
        ...(r.seed !== undefined && { seed: r.seed }),
        // OpenAI's API takes at most four stop sequences; the cut below applies all of them.
        stop: r.stop.slice(0, 4),
      });
      responses[i] = { kind: "generate", text: truncateAtStop(result.text, r.stop) };
    }),
  );
  return responses;
}

function table(rows: ReadonlyArray<Record<string, number>>, metrics: readonly string[]): MetricTable {
  return {
    n: rows.length,
    metrics: Object.fromEntries(
      metrics.map((m) => {
        const xs = rows.map((r) => r[m]!);
        return [m, { value: mean(xs), stderr: meanStderr(xs) }];
      }),
    ),
  };
}

/** Size-weighted mean of several tables and the harness's pooled stderr. */
function pool(parts: readonly MetricTable[], metrics: readonly string[]): MetricTable {
  const sizes = parts.map((p) => p.n);
  const n = sizes.reduce((a, b) => a + b, 0);
  return {
    n,
    metrics: Object.fromEntries(
      metrics.map((m) => {
        const value = parts.reduce((sum, p) => sum + p.metrics[m]!.value * p.n, 0) / n;
        return [
          m,
          {
            value,
            stderr: pooledStderr(
              parts.map((p) => p.metrics[m]!.stderr),
              sizes,
            ),
          },
        ];
      }),
    ),
  };
}

/** The plain mean of the subtasks' values (open-instruct's BBH average); stderr sqrt(Σ se²)/k. */
function equalMean(parts: readonly MetricTable[], metrics: readonly string[]): MetricTable {
  const k = parts.length;
  const value = (m: string) => parts.reduce((sum, p) => sum + p.metrics[m]!.value, 0) / k;
  const stderr = (m: string) => {
    const ses = parts.map((p) => p.metrics[m]!.stderr);
    if (ses.some((se) => se === null)) return null;
    return Math.sqrt(ses.reduce((sum: number, se) => sum + se! ** 2, 0)) / k;
  };
  return {
    n: parts.reduce((sum, p) => sum + p.n, 0),
    metrics: Object.fromEntries(metrics.map((m) => [m, { value: value(m), stderr: stderr(m) }])),
  };
}

/**
 * The harness's aggregation: a plain task is the mean of its examples with the sample stderr of
 * the mean; a task with subtasks is the size-weighted mean of its subtasks with their pooled stderr,
 * and so is each group (MMLU's categories) over its own subtasks.
 */
export function aggregate(
  definition: Pick<TaskDefinition, "metrics" | "groupOf" | "subtaskMean">,
  rows: ReadonlyArray<{ subtask?: string; metrics: Record<string, number> }>,
): MetricTable & { subtasks?: Record<string, MetricTable>; groups?: Record<string, MetricTable> } {
  const metrics = definition.metrics;
  if (rows.length === 0)
    return { n: 0, metrics: Object.fromEntries(metrics.map((m) => [m, { value: Number.NaN, stderr: null }])) };
  if (rows.every((r) => r.subtask === undefined))
    return table(
      rows.map((r) => r.metrics),
      metrics,
    );
  const bySubtask = new Map<string, Array<Record<string, number>>>();
  for (const r of rows) {
    const key = r.subtask ?? "";
    if (!bySubtask.has(key)) bySubtask.set(key, []);
    bySubtask.get(key)!.push(r.metrics);
  }
  const subtasks = Object.fromEntries([...bySubtask].map(([name, xs]) => [name, table(xs, metrics)]));
  if (definition.subtaskMean === "equal") return { ...equalMean(Object.values(subtasks), metrics), subtasks };
  if (!definition.groupOf) return { ...pool(Object.values(subtasks), metrics), subtasks };
  const byGroup = new Map<string, MetricTable[]>();
  for (const [name, t] of Object.entries(subtasks)) {
    const group = definition.groupOf(name);
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group)!.push(t);
  }
  const groups = Object.fromEntries([...byGroup].map(([name, parts]) => [name, pool(parts, metrics)]));
  // The harness aggregates a group from its leaf tasks, so the top-level stderr pools the subtasks, not the groups.
  return { ...pool(Object.values(subtasks), metrics), groups, subtasks };
}
