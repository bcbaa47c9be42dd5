import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { readSourceRows, type SourceFormat, type SourceRow } from "../data/index.js";
import { InputError, ProviderError } from "../errors.js";
import { Journal } from "../io/index.js";
import { isDeferred, type GenerateResult, type LanguageModel } from "../llm/index.js";
import type { ErrorType } from "./error-types.js";
import { runInOrder } from "./in-order.js";
import {
  completedJobs,
  jobKey,
  journalFiles,
  putInInputOrder,
  releaseRejects,
  type NegativeLine,
  type RejectLine,
} from "./journals.js";
import {
  INJECTION_TEMPLATE_VERSION,
  injectionCheckMessages,
  injectionCheckSchema,
  injectionMessages,
} from "./prompts.js";
import { checkOrWriteManifest } from "./run-manifest.js";
import { strategyTypes, typesForRow, type Strategy } from "./strategy.js";
import {
  defaultVerifyOptions,
  stripPreamble,
  verifyNegative,
  type RejectReason,
  type VerifyOptions,
} from "./verify.js";

export interface InjectOptions {
  input: string;
  outDir: string;
  format?: SourceFormat;
  strategy: Strategy;
  /** The name recorded as provenance (e.g. the model id). */
  injectorName: string;
  injector: LanguageModel;
  /** When set, a judge must confirm each negative carries the intended error. */
  judge?: LanguageModel;
  seed?: number;
  /** Jobs in flight; the provider's own queue bounds actual concurrency. */
  window?: number;
  maxTokens?: number;
  temperature?: number;
  verify?: VerifyOptions;
  skipInvalid?: boolean;
  /**
   * Rejects with these reasons go back to pending and are sent again (after a server fix, or a
   * raised --max-tokens, which these re-runs may change).
   */
  retryRejects?: readonly RejectReason[];
  /** Called after each committed job, for progress display; `deferred` jobs stay pending (batch files). */
  onJobDone?: (event: { accepted: boolean; reason?: RejectReason; deferred?: boolean }) => void;
}

export interface InjectResult {
  newJobs: number;
  skippedJobs: number;
  /** Rejects moved back to pending by `retryRejects`, by reason. */
  retried: Record<string, number>;
  /** Jobs whose request waits for a batch result: still pending. */
  deferred: number;
}

/** Settings a re-run with `retryRejects` may change: raising the token limit is what fixes `truncated`. */
const CHANGEABLE_ON_RETRY = ["maxTokens", "verify"];

/** The options with their defaults filled in. */
type InjectSettings = InjectOptions & Required<Pick<InjectOptions, "seed" | "maxTokens" | "temperature" | "verify">>;

interface Job {
  row: SourceRow;
  type: ErrorType;
}

type Outcome = { kind: "negative"; line: NegativeLine } | { kind: "reject"; line: RejectLine } | { kind: "deferred" };

/**
 * Streams the input, asks the injector for one rewrite per (prompt, error type), verifies it and
 * appends it to the negatives or rejects journal. A killed run, started again with the same
 * settings, skips the jobs its journals already hold.
 */
export async function runInject(options: InjectOptions): Promise<InjectResult> {
  const settings: InjectSettings = {
    ...options,
    seed: options.seed ?? 0,
    maxTokens: options.maxTokens ?? 1024,
    temperature: options.temperature ?? 0,
    verify: options.verify ?? defaultVerifyOptions,
  };
  const retryRejects = options.retryRejects ?? [];
  mkdirSync(options.outDir, { recursive: true });
  checkOrWriteManifest(
    options.outDir,
    { identity: injectIdentity(settings), command: "inject", updatedAt: new Date().toISOString() },
    retryRejects.length > 0 ? CHANGEABLE_ON_RETRY : [],
  );
  const retried = await releaseRejects(options.outDir, retryRejects);
  const done = await completedJobs(options.outDir);
  const negatives = Journal.open(join(options.outDir, journalFiles.negatives));
  const rejects = Journal.open(join(options.outDir, journalFiles.rejects));
  const counts: InjectResult = { newJobs: 0, skippedJobs: 0, retried, deferred: 0 };
  const commit = (_job: Job, outcome: Outcome) => {
    if (outcome.kind === "deferred") {
      counts.deferred++;
      options.onJobDone?.({ accepted: false, deferred: true });
      return;
    }
    if (outcome.kind === "negative") negatives.append(outcome.line);
    else rejects.append(outcome.line);
    counts.newJobs++;
    options.onJobDone?.(
      outcome.kind === "negative" ? { accepted: true } : { accepted: false, reason: outcome.line.reason },
    );
  };
  const inputLines = new Map<string, number>();
  try {
    const jobs = pendingJobs(settings, done, { rejects, inputLines }, () => counts.skippedJobs++);
    await runInOrder(jobs, options.window ?? 64, rewriter(settings), commit);
  } finally {
    negatives.close();
    rejects.close();
  }
  const rank = typeRank(settings.strategy);
  await putInInputOrder(options.outDir, { lineOf: (id) => inputLines.get(id), typeRank: rank });
  return counts;
}

/** A type's place in the strategy's list: the order an uninterrupted run writes a row's jobs in. */
function typeRank(strategy: Strategy): (errorType: string) => number {
  const names = strategyTypes(strategy).map((type) => type.name);
  return (errorType) => names.indexOf(errorType);
}

/** The settings a resumed run must repeat, for the manifest. */
function injectIdentity(settings: InjectSettings): Record<string, unknown> {
  return {
    input: settings.input,
    strategy: describeStrategy(settings.strategy),
    injector: settings.injectorName,
    templateVersion: INJECTION_TEMPLATE_VERSION,
    seed: settings.seed,
    maxTokens: settings.maxTokens,
    temperature: settings.temperature,
    verify: settings.verify,
    judge: settings.judge?.modelId ?? null,
  };
}

/**
 * The (row, error type) jobs the journals do not hold yet. Unreadable input rows go to the rejects
 * journal here (once: a resumed run skips the lines already there). Every row's input line goes
 * into `inputLines`, which also finds duplicate ids.
 */
async function* pendingJobs(
  settings: InjectSettings,
  done: Awaited<ReturnType<typeof completedJobs>>,
  { rejects, inputLines }: { rejects: Journal; inputLines: Map<string, number> },
  onSkip: () => void,
): AsyncGenerator<Job> {
  const rows = readSourceRows(settings.input, {
    format: settings.format,
    skipInvalid: settings.skipInvalid,
    onReject: ({ line, field, reason, raw }) => {
      if (done.invalidLines.has(line)) return;
      const record: RejectLine = { reason: "invalid-input", detail: field ? `${field}: ${reason}` : reason, line, raw };
      rejects.append(record);
      settings.onJobDone?.({ accepted: false, reason: "invalid-input" });
    },
  });
  for await (const row of rows) {
    if (inputLines.has(row.id)) {
      throw new InputError(
        settings.input,
        row.line,
        "id",
        `duplicate id "${row.id}"`,
        "ids must be unique so a resumed run can tell rows apart",
      );
    }
    inputLines.set(row.id, row.line);
    for (const type of typesForRow(settings.strategy, row.id, settings.seed)) {
      if (done.jobs.has(jobKey(row.id, type.name))) onSkip();
      else yield { row, type };
    }
  }
}

/** Turns a job into a negative or a reject: rewrite, verify, and (with a judge) confirm. */
function rewriter(settings: InjectSettings): (job: Job) => Promise<Outcome> {
  const provenance = {
    injector: settings.injectorName,
    templateVersion: INJECTION_TEMPLATE_VERSION,
    seed: settings.seed,
  };
  let succeeded = 0;
  let failedBeforeAnySuccess = 0;
  const rewrite = async ({ row, type }: Job): Promise<Outcome> => {
    const base = { sourceId: row.id, errorType: type.name, prompt: row.prompt, chosen: row.response, ...provenance };
    let result: GenerateResult;
    try {
      result = await settings.injector.generate({
        messages: injectionMessages(row, type),
        maxTokens: settings.maxTokens,
        temperature: settings.temperature,
        seed: settings.seed,
      });
    } catch (error) {
      if (isDeferred(error)) throw error;
      // A request refused for this row alone (too long for the context, malformed) must not stop a
      // long run; but when nothing has worked yet the setup is wrong, so stop at once.
      const forThisRowOnly =
        error instanceof ProviderError && !error.isRetryable && ![401, 403, 404].includes(error.options.status ?? 0);
      if (!forThisRowOnly || (succeeded === 0 && ++failedBeforeAnySuccess >= 10)) throw error;
      return { kind: "reject", line: { ...base, reason: "provider-error", detail: error.message } };
    }
    succeeded++;
    const candidate = stripPreamble(result.text);
    const problem = await findProblem(settings, row, type, candidate, result);
    if (problem) return { kind: "reject", line: { ...base, ...problem, candidate, usage: result.usage } };
    return { kind: "negative", line: { ...base, history: row.history, rejected: candidate, usage: result.usage } };
  };
  // A request (the injector's or the judge's) waiting for a batch result leaves the job pending.
  return (job) =>
    rewrite(job).catch((error: unknown) => (isDeferred(error) ? { kind: "deferred" } : Promise.reject(error)));
}

/** Why a rewrite cannot be used, or undefined when it passes the checks (and the judge). */
async function findProblem(
  settings: InjectSettings,
  row: SourceRow,
  type: ErrorType,
  candidate: string,
  result: GenerateResult,
): Promise<{ reason: RejectReason; detail: string } | undefined> {
  const verdict = verifyNegative(row.response, candidate, result.finishReason, settings.verify);
  if (!verdict.ok) return { reason: verdict.reason, detail: verdict.detail };
  if (!settings.judge) return undefined;
  const check = await judgeNegative(settings.judge, row, candidate, type);
  return check.ok ? undefined : { reason: "judge-rejected", detail: check.detail };
}

async function judgeNegative(judge: LanguageModel, row: SourceRow, candidate: string, type: ErrorType) {
  try {
    const { value } = await judge.generateJson({
      messages: injectionCheckMessages(row, candidate, type),
      schema: injectionCheckSchema,
      schemaName: "injection_check",
      maxTokens: 256,
      temperature: 0,
    });
    return value.contains_error
      ? { ok: true as const }
      : { ok: false as const, detail: `the judge found no ${type.name} error: ${value.explanation}` };
  } catch (error) {
    if (error instanceof ProviderError && !error.isRetryable) {
      return { ok: false as const, detail: `the judge's reply could not be used: ${error.message}` };
    }
    throw error;
  }
}

export function describeStrategy(strategy: Strategy): string {
  switch (strategy.kind) {
    case "single":
      return `single:${strategy.type.name}`;
    case "most-common":
      return `most-common:${strategy.type.name}`;
    case "all":
    case "mixed":
      return `${strategy.kind}:${strategy.types.map((t) => t.name).join(",")}`;
    case "weighted":
      return `weighted:${strategy.weights.map((w) => `${w.type.name}=${w.weight}`).join(",")}`;
  }
}
