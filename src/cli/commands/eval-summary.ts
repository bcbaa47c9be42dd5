/**
 * What `seapo eval` prints after the score table when a run used batch files or several servers:
 * the tasks left pending or skipped, the batch counts, and each server's counts.
 */
import type { EvalRun, ResultsFile } from "../../eval/index.js";
import { endpointLines } from "../endpoint-summary.js";

/**
 * Why log-likelihood tasks do not go into batch files: they need the prompt's own log-probs
 * (legacy completions with echo), and vllm run-batch takes no /v1/completions at all (vLLM
 * 0056ae7b, run_batch.py: chat completions, embeddings, score and rerank only).
 */
export const LOGLIKELIHOOD_BATCH_REASON =
  "batch files carry generation requests only (log-likelihood scoring needs prompt log-probs from " +
  "/v1/completions with echo, which vllm run-batch does not take); score these tasks live with --base-url or " +
  "--endpoints (the batch answers stay in the request cache, so nothing is sent twice)";

/** Lines for the tasks not scored: waiting for batch results, or not run with batch files. */
export function pendingLines(run: EvalRun): string[] {
  const waiting = Object.entries(run.pending).map(
    ([task, p]) =>
      `pending: ${task} not scored: ${p!.examples} of ${p!.of} examples wait for ${p!.requests} batch results`,
  );
  const skipped = Object.entries(run.skipped).map(
    ([task, s]) => `skipped: ${task} (${s!.requests} log-likelihood requests) not run: ${s!.reason}`,
  );
  return [...waiting, ...skipped];
}

/** The batch line: results used, failed or missing, requests still waiting, and the files written. */
export function evalBatchLines(file: ResultsFile): string[] {
  const batch = file.batch;
  if (!batch) return [];
  const waiting = file.pending?.requests ?? 0;
  const tasks = Object.keys(file.pending?.tasks ?? {}).length;
  const parts = [`batch: ${batch.used} results used`];
  if (batch.failed || batch.missing)
    parts.push(`${batch.failed} failed and ${batch.missing} missing requests left pending`);
  parts.push(`${waiting} requests pending in ${tasks} tasks`);
  if (batch.files.length) parts.push(`wrote ${batch.written} requests to ${batch.files.join(", ")}`);
  const lines = [parts.join(" · ")];
  if (batch.files.length)
    lines.push(
      "note: eval's prompts are raw text, so the files hold /v1/completions requests (the bodies a live run sends); " +
        "a Batch API that takes /v1/completions answers them, while vllm run-batch (vLLM 0056ae7b) generates " +
        "through /v1/chat/completions only: with vLLM, serve the model and give --base-url or --endpoints instead",
    );
  return lines;
}

export function evalEndpointLines(file: ResultsFile): string[] {
  return file.endpoints ? endpointLines({ model: file.endpoints }) : [];
}
