import PQueue from "p-queue";
import { InputError, SeapoError, UnsupportedError } from "../errors.js";
import { aggregate, type MetricTable } from "./aggregate.js";
import { DataReader } from "./data.js";
import type { Harness, PendingTask, SampleRecord, SkippedTask } from "./file-schemas.js";
import { HARNESS_COMMITS, harnessTask } from "./harnesses/index.js";
import { truncateAtStop } from "./extract.js";
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
import { isDeferred, type LanguageModel } from "../llm/index.js";

export { aggregate, type MetricTable, type MetricValue } from "./aggregate.js";

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
  /**
   * Set when the model answers from batch files, which carry no prompt log-probs: the tasks that
   * score by log-likelihood are not run, and are reported as skipped with this reason.
   */
  skipLoglikelihood?: string;
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
  /** Tasks left unscored because some of their generations wait for batch results. */
  pending: Partial<Record<TaskName, PendingTask>>;
  /** Tasks not run (log-likelihood tasks with batch files), with why. */
  skipped: Partial<Record<TaskName, SkippedTask>>;
  durationMs: number;
}

export const DEFAULT_FEWSHOT_SEED = 1234;

export type { SampleRecord, PendingTask, SkippedTask } from "./file-schemas.js";

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

/** An example some of whose generations wait for a batch result: it is not scored. */
interface Waiting {
  waitingRequests: number;
}

type Outcome = Scored | Waiting;

const isWaiting = (outcome: Outcome): outcome is Waiting => "waitingRequests" in outcome;

/**
 * Loads the tasks, sends every request through `model`, scores, and aggregates per task. A task
 * with an example still waiting for batch results is not scored but listed in `pending`.
 */
export async function runEval(model: LanguageModel, options: RunOptions): Promise<EvalRun> {
  const started = Date.now();
  const fewshotSeed = options.fewshotSeed ?? DEFAULT_FEWSHOT_SEED;
  const harness = options.harness ?? "lm-eval";
  const data = new DataReader(options.dataDir);
  const all = await loadTasks(data, options, fewshotSeed);
  const { loaded, skipped } = splitSkipped(all, options.skipLoglikelihood);
  const sandbox = loaded.some((t) => t.definition.needsSandbox) ? await createSandbox(options.sandbox) : undefined;
  const total = loaded.reduce((sum, t) => sum + requestCount(t.instances), 0);
  const outcomes = await scoreAll(model, loaded, { sandbox }, total, options);
  const results: EvalRun["results"] = {};
  const pending: EvalRun["pending"] = {};
  const samples: NonNullable<EvalRun["samples"]> = {};
  loaded.forEach((task, t) => {
    const waiting = outcomes[t]!.filter(isWaiting);
    if (waiting.length > 0) {
      const requests = waiting.reduce((sum, w) => sum + w.waitingRequests, 0);
      pending[task.name] = { examples: waiting.length, of: task.instances.length, requests };
      return;
    }
    const rows = task.instances.map((instance, i) => ({ instance, ...(outcomes[t]![i] as Scored) }));
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
    taskVersions: Object.fromEntries(all.map((t) => [t.name, t.taskVersion])),
    requests: total,
    pending,
    skipped,
    durationMs: Date.now() - started,
  };
}

function requestCount(instances: readonly EvalInstance[]): number {
  return instances.reduce((sum, i) => sum + i.requests.length, 0);
}

/** With a reason to skip them, the tasks that score by log-likelihood are set aside and counted. */
function splitSkipped(
  all: LoadedTaskRun[],
  reason: string | undefined,
): { loaded: LoadedTaskRun[]; skipped: EvalRun["skipped"] } {
  if (reason === undefined) return { loaded: all, skipped: {} };
  const scoresLogprobs = (t: LoadedTaskRun) =>
    t.instances.some((i) => i.requests.some((r) => r.kind === "loglikelihood"));
  const skipped = Object.fromEntries(
    all.filter(scoresLogprobs).map((t) => [t.name, { requests: requestCount(t.instances), reason }]),
  );
  return { loaded: all.filter((t) => !scoresLogprobs(t)), skipped };
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
): Promise<Outcome[][]> {
  let done = 0;
  const queue = new PQueue({ concurrency: options.concurrency ?? 8 });
  let failure: unknown;
  const outcomes = loaded.map((t) => new Array<Outcome>(t.instances.length));
  const jobs = loaded.flatMap((task, t) =>
    task.instances.map((instance, i) =>
      queue.add(async () => {
        if (failure !== undefined) return;
        try {
          const answered = await answer(model, instance.requests, task.name);
          outcomes[t]![i] = Array.isArray(answered)
            ? { score: await instance.score(answered, context), responses: answered }
            : answered;
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
  return outcomes;
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

async function answer(
  model: LanguageModel,
  requests: readonly EvalRequest[],
  task: string,
): Promise<EvalResponse[] | Waiting> {
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
  const generated = await Promise.allSettled(
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
  const refused = generated.flatMap((g) => (g.status === "rejected" ? [g.reason as unknown] : []));
  const failure = refused.find((reason) => !isDeferred(reason));
  if (failure !== undefined) throw failure;
  // Every request was asked, so a batch file holds all of an example's waiting generations.
  return refused.length > 0 ? { waitingRequests: refused.length } : responses;
}
