import { existsSync } from "node:fs";
import PQueue from "p-queue";
import { z } from "zod";
import { InputError } from "../errors.js";
import { Journal, readJsonLines, readRecords } from "../io/index.js";
import {
  chatMessageSchema,
  type ChatMessage,
  type GenerateRequest,
  type GenerateResult,
  type LanguageModel,
  type SamplingOptions,
} from "./provider.js";

/**
 * `seapo generate` as a library function: prompts (one from the command line, or rows of a JSONL
 * file) sampled from any LanguageModel, as chat turns through the model's template or as raw text,
 * streamed to a callback or written as JSONL records that a rerun resumes from.
 */

/** One input row: a prompt, or chat messages; `id` defaults to the line number. */
export const promptRowSchema = z
  .object({
    id: z.union([z.string(), z.number()]).optional(),
    prompt: z.string().optional(),
    messages: z.array(chatMessageSchema).min(1).optional(),
  })
  .refine((row) => (row.prompt === undefined) !== (row.messages === undefined), {
    message: "give exactly one of prompt or messages",
    path: ["prompt"],
  });

export interface PromptRow {
  id: string;
  prompt?: string;
  messages?: ChatMessage[];
}

/** One record of the --out file, written as each prompt finishes. */
export const generationRecordSchema = z.object({
  id: z.string(),
  model: z.string(),
  text: z.string(),
  finishReason: z.enum(["stop", "length", "content-filter", "error", "other"]),
  /** The backend's own word for it (eos, stop_sequence, maxTokens, …). */
  rawFinishReason: z.string().optional(),
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  warnings: z.array(z.string()),
});
export type GenerationRecord = z.infer<typeof generationRecordSchema>;

/** Reads and checks every row first, so a bad row stops the run before any sampling. */
export async function readPromptRows(path: string): Promise<PromptRow[]> {
  const rows: PromptRow[] = [];
  const seen = new Map<string, number>();
  for await (const { line, value } of readJsonLines(path)) {
    const parsed = promptRowSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(path, line, issue.path.join(".") || undefined, issue.message);
    }
    const id = String(parsed.data.id ?? line);
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new InputError(path, line, "id", `id "${id}" is also on line ${earlier}`);
    seen.set(id, line);
    rows.push({ id, prompt: parsed.data.prompt, messages: parsed.data.messages });
  }
  return rows;
}

export interface GeneratePromptsOptions {
  model: LanguageModel;
  /** Provenance written into each record. */
  modelName: string;
  rows: readonly PromptRow[];
  /** Plain text prompts without the chat template (rows with messages are refused). */
  raw: boolean;
  /** maxTokens, temperature, topP, topK, stop; `seed` is the first row's, the next rows' count up from it. */
  sampling: SamplingOptions;
  /** JSONL file of GenerationRecords; rows already in it are skipped (resume). */
  out?: string;
  /** Prompts in flight at once (streaming callers use 1). */
  concurrency: number;
  onText?: (row: PromptRow, delta: string) => void;
  onRecord?: (row: PromptRow, record: GenerationRecord) => void;
}

/** Samples every row not yet in `out`; returns the records of this run in input order. */
export async function generatePrompts(options: GeneratePromptsOptions): Promise<GenerationRecord[]> {
  const { rows, sampling } = options;
  if (options.raw) {
    const chat = rows.find((row) => row.messages !== undefined);
    if (chat) throw new InputError("--raw", undefined, undefined, `row ${chat.id} has messages; --raw needs prompts`);
  }
  const done = options.out === undefined ? new Set<string>() : await recordedIds(options.out);
  const journal = options.out === undefined ? undefined : Journal.open(options.out);
  const queue = new PQueue({ concurrency: options.concurrency });
  const records: (GenerationRecord | undefined)[] = [];
  const tasks = rows.map((row, index) => {
    if (done.has(row.id)) return undefined;
    const request: GenerateRequest = {
      ...requestFor(row, options.raw),
      ...sampling,
      ...(sampling.seed !== undefined && { seed: sampling.seed + index }),
      ...(options.onText && { onText: (delta: string) => options.onText!(row, delta) }),
    };
    return queue
      .add(async () => {
        const record = toRecord(row.id, options.modelName, await options.model.generate(request));
        journal?.append(record);
        records[index] = record;
        options.onRecord?.(row, record);
      })
      .catch((error: unknown) => {
        queue.clear(); // the prompts not started yet stay for the rerun
        throw error;
      });
  });
  // Every prompt in flight finishes (and is journaled) before a failure is reported.
  const settled = await Promise.allSettled(tasks);
  journal?.close();
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failed) throw failed.reason;
  return records.filter((record): record is GenerationRecord => record !== undefined);
}

/** A prompt goes through the chat template as one user turn, unless raw. */
function requestFor(row: PromptRow, raw: boolean): GenerateRequest {
  if (row.messages) return { messages: row.messages };
  return raw ? { prompt: row.prompt! } : { messages: [{ role: "user", content: row.prompt! }] };
}

function toRecord(id: string, model: string, result: GenerateResult): GenerationRecord {
  return {
    id,
    model,
    text: result.text,
    finishReason: result.finishReason.unified,
    ...(result.finishReason.raw !== undefined && { rawFinishReason: result.finishReason.raw }),
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    warnings: result.warnings,
  };
}

async function recordedIds(path: string): Promise<Set<string>> {
  const ids = new Set<string>();
  if (!existsSync(path)) return ids;
  Journal.open(path).close(); // cuts a line torn by a kill
  for await (const record of readRecords(path)) ids.add(generationRecordSchema.parse(record).id);
  return ids;
}
