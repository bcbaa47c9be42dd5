import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { InputError, ProviderError } from "../errors.js";
import type { SourceRow, NegativeRecord } from "../data/types.js";
import { readSourceRows, type SourceFormat } from "../data/index.js";
import type { LanguageModel, Usage } from "../llm/provider.js";
import type { ErrorType } from "./error-types.js";
import {
  INJECTION_TEMPLATE_VERSION,
  injectionCheckMessages,
  injectionCheckSchema,
  injectionMessages,
} from "./prompts.js";
import { checkOrWriteManifest } from "./run-manifest.js";
import { typesForRow, type Strategy } from "./strategy.js";
import {
  defaultVerifyOptions,
  stripPreamble,
  verifyNegative,
  type RejectReason,
  type VerifyOptions,
} from "./verify.js";
import { Journal, readRecords } from "../io/index.js";
import { runInOrder } from "./in-order.js";

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
  /** Called after each committed job, for progress display. */
  onJobDone?: (event: { accepted: boolean; reason?: RejectReason }) => void;
}

/** What `negatives.jsonl` holds: an accepted negative with its usage. */
export interface NegativeLine extends NegativeRecord {
  usage: Usage;
}

/** What `rejects.jsonl` holds: anything not used, with the reason. */
export interface RejectLine {
  reason: RejectReason;
  detail: string;
  sourceId?: string;
  line?: number;
  errorType?: string;
  prompt?: string;
  chosen?: string;
  candidate?: string;
  injector?: string;
  templateVersion?: string;
  seed?: number;
  usage?: Usage;
  raw?: unknown;
}

interface Job {
  row: SourceRow;
  type: ErrorType;
}

type Outcome = { kind: "negative"; line: NegativeLine } | { kind: "reject"; line: RejectLine };

export const journalFiles = { negatives: "negatives.jsonl", rejects: "rejects.jsonl" } as const;

/**
 * Streams the input, asks the injector for one rewrite per (prompt, error type), verifies it and
 * appends it to the negatives or rejects journal. A killed run, started again with the same
 * settings, skips the jobs its journals already hold.
 */
export async function runInject(options: InjectOptions): Promise<{ newJobs: number; skippedJobs: number }> {
  const seed = options.seed ?? 0;
  const verify = options.verify ?? defaultVerifyOptions;
  mkdirSync(options.outDir, { recursive: true });
  checkOrWriteManifest(
    options.outDir,
    {
      input: options.input,
      strategy: describeStrategy(options.strategy),
      injector: options.injectorName,
      templateVersion: INJECTION_TEMPLATE_VERSION,
      seed,
      maxTokens: options.maxTokens ?? 1024,
      temperature: options.temperature ?? 0,
      verify,
      judge: options.judge?.modelId ?? null,
    },
    { command: "inject", updatedAt: new Date().toISOString() },
  );

  const done = await completedJobs(options.outDir);
  const negatives = Journal.open(join(options.outDir, journalFiles.negatives));
  const rejects = Journal.open(join(options.outDir, journalFiles.rejects));
  const provenance = { injector: options.injectorName, templateVersion: INJECTION_TEMPLATE_VERSION, seed };
  let skippedJobs = 0;
  let newJobs = 0;
  let succeeded = 0;
  let failedBeforeAnySuccess = 0;

  async function* jobs(): AsyncGenerator<Job> {
    const seenIds = new Set<string>();
    const rows = readSourceRows(options.input, {
      format: options.format,
      skipInvalid: options.skipInvalid,
      onReject: ({ line, field, reason, raw }) => {
        if (done.invalidLines.has(line)) return;
        rejects.append({
          reason: "invalid-input",
          detail: field ? `${field}: ${reason}` : reason,
          line,
          raw,
        } satisfies RejectLine);
        options.onJobDone?.({ accepted: false, reason: "invalid-input" });
      },
    });
    for await (const row of rows) {
      if (seenIds.has(row.id)) {
        throw new InputError(
          options.input,
          row.line,
          "id",
          `duplicate id "${row.id}"`,
          "ids must be unique so a resumed run can tell rows apart",
        );
      }
      seenIds.add(row.id);
      for (const type of typesForRow(options.strategy, row.id, seed)) {
        if (done.jobs.has(jobKey(row.id, type.name))) skippedJobs++;
        else yield { row, type };
      }
    }
  }

  async function work({ row, type }: Job): Promise<Outcome> {
    const base = { sourceId: row.id, errorType: type.name, prompt: row.prompt, chosen: row.response, ...provenance };
    let result;
    try {
      result = await options.injector.generate({
        messages: injectionMessages(row, type),
        maxTokens: options.maxTokens ?? 1024,
        temperature: options.temperature ?? 0,
        seed,
      });
    } catch (error) {
      // A request refused for this row alone (too long for the context, malformed) must not stop a
      // long run; but when nothing has worked yet the setup is wrong, so stop at once.
      const forThisRowOnly =
        error instanceof ProviderError && !error.isRetryable && ![401, 403, 404].includes(error.options.status ?? 0);
      if (!forThisRowOnly || (succeeded === 0 && ++failedBeforeAnySuccess >= 10)) throw error;
      return { kind: "reject", line: { ...base, reason: "provider-error", detail: error.message } };
    }
    succeeded++;
    const candidate = stripPreamble(result.text);
    const verdict = verifyNegative(row.response, candidate, result.finishReason, verify);
    if (!verdict.ok) {
      return {
        kind: "reject",
        line: { ...base, reason: verdict.reason, detail: verdict.detail, candidate, usage: result.usage },
      };
    }
    if (options.judge) {
      const check = await judgeNegative(options.judge, row, candidate, type);
      if (!check.ok) {
        return {
          kind: "reject",
          line: { ...base, reason: "judge-rejected", detail: check.detail, candidate, usage: result.usage },
        };
      }
    }
    const line: NegativeLine = { ...base, history: row.history, rejected: candidate, usage: result.usage };
    return { kind: "negative", line };
  }

  function commit(_job: Job, outcome: Outcome): void {
    if (outcome.kind === "negative") negatives.append(outcome.line);
    else rejects.append(outcome.line);
    newJobs++;
    options.onJobDone?.(
      outcome.kind === "negative" ? { accepted: true } : { accepted: false, reason: outcome.line.reason },
    );
  }

  try {
    await runInOrder(jobs(), options.window ?? 64, work, commit);
  } finally {
    negatives.close();
    rejects.close();
  }
  return { newJobs, skippedJobs };
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

export function jobKey(sourceId: string, errorType: string): string {
  return `${sourceId}\u0000${errorType}`;
}

/** The jobs the journals already hold, so a resumed run neither repeats nor loses any. */
async function completedJobs(outDir: string): Promise<{ jobs: Set<string>; invalidLines: Set<number> }> {
  const jobs = new Set<string>();
  const invalidLines = new Set<number>();
  for await (const line of readRecords<NegativeLine>(join(outDir, journalFiles.negatives))) {
    jobs.add(jobKey(line.sourceId, line.errorType));
  }
  for await (const line of readRecords<RejectLine>(join(outDir, journalFiles.rejects))) {
    if (line.sourceId !== undefined && line.errorType !== undefined) jobs.add(jobKey(line.sourceId, line.errorType));
    else if (line.line !== undefined) invalidLines.add(line.line);
  }
  return { jobs, invalidLines };
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
