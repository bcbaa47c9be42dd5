import { z } from "zod";
import { BATCH_LIMITS, openBatchSession, type BatchCounts, type BatchSession } from "../llm/index.js";

/** The batch-file flags of the commands that call models (spread into their options schema). */
export const batchOptions = {
  batchOut: z
    .string()
    .optional()
    .meta({
      description:
        `write the requests not yet answered into this folder as OpenAI Batch JSONL (custom_id, method, url, body), ` +
        `one file set per model, each file at most ${BATCH_LIMITS.maxRequests.toLocaleString("en")} requests and ` +
        `${BATCH_LIMITS.maxBytes / 2 ** 20} MB (the OpenAI Batch API's limits), instead of sending them; ` +
        "`vllm run-batch -i` takes the same files; give --model, not --base-url",
      flag: "--batch-out <dir>",
    }),
  batchIn: z
    .array(z.string())
    .optional()
    .meta({
      description:
        "OpenAI Batch result files (from the Batch API or `vllm run-batch -o`) answering --batch-out's requests, " +
        "in any order and any split; the run goes on with them, and requests without a successful result stay pending",
      flag: "--batch-in <files...>",
      repeatable: true,
    }),
};

/** The run's batch session, when --batch-out or --batch-in is given. */
export async function batchSession(flags: {
  batchOut?: string;
  batchIn?: string[];
}): Promise<BatchSession | undefined> {
  if (!flags.batchOut && !flags.batchIn?.length) return undefined;
  return openBatchSession({ inFiles: flags.batchIn, outDir: flags.batchOut });
}

/** The summary line of a batch run: what was used, what stays pending and what was written. */
export function batchSummary(counts: BatchCounts, pendingJobs: number, files: string[]): string {
  const parts = [`batch: ${counts.used} results used`];
  if (counts.failed || counts.missing)
    parts.push(`${counts.failed} failed and ${counts.missing} missing requests left pending`);
  parts.push(`${pendingJobs} jobs pending`);
  if (files.length) parts.push(`wrote ${counts.written} requests to ${files.join(", ")}`);
  return parts.join(" · ");
}
