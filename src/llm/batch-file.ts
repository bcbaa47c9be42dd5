/**
 * OpenAI Batch files: the request lines seapo writes (`--batch-out`) and the result lines it reads
 * back (`--batch-in`). The request line is {custom_id, method, url, body}, which is also the input
 * of `vllm run-batch`; a result line is {id, custom_id, response: {status_code, request_id, body},
 * error}, which both the OpenAI Batch API and `vllm run-batch` write.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { InputError, zodInputError } from "../errors.js";

/**
 * The OpenAI Batch API takes up to 50,000 requests and 200 MB per input file (API reference,
 * "Create batch", `input_file_id`). Chunks stop a little short of the byte limit.
 */
export const BATCH_LIMITS = { maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 } as const;
const BYTE_MARGIN = 1024 * 1024;

export const batchRequestLineSchema = z.object({
  custom_id: z.string().min(1),
  method: z.literal("POST"),
  url: z.string().startsWith("/v1/"),
  body: z.record(z.string(), z.unknown()),
});
export type BatchRequestLine = z.infer<typeof batchRequestLineSchema>;

export const batchResultLineSchema = z.object({
  id: z.string().optional(),
  custom_id: z.string().min(1),
  response: z
    .object({ status_code: z.number().int(), request_id: z.string().optional(), body: z.unknown().optional() })
    .nullable()
    .optional(),
  error: z.unknown().optional(),
});
export type BatchResultLine = z.infer<typeof batchResultLineSchema>;

/**
 * Writes request lines into numbered chunk files `<prefix>-00001.jsonl`, … in `dir`, each under
 * the limits. A chunk appears under its name only once complete (written as .tmp, then renamed).
 */
export class BatchWriter {
  private fd: number | undefined;
  private chunk = 0;
  private lines = 0;
  private bytes = 0;
  private readonly written = new Set<string>();
  readonly files: string[] = [];

  constructor(
    readonly dir: string,
    readonly prefix: string,
    private readonly limits: { maxRequests: number; maxBytes: number } = BATCH_LIMITS,
  ) {
    mkdirSync(dir, { recursive: true });
    const stale = readdirSync(dir).filter((name) => name.startsWith(`${prefix}-`) && name.endsWith(".jsonl"));
    if (stale.length > 0) {
      throw new InputError(
        join(dir, stale[0]!),
        undefined,
        undefined,
        "the batch folder already holds request files of this model",
        "give an empty --batch-out folder, so no file mixes two runs",
      );
    }
  }

  /** Adds a request once, however often the same request (same custom_id) is asked for. */
  add(line: BatchRequestLine): void {
    if (this.written.has(line.custom_id)) return;
    this.written.add(line.custom_id);
    const text = `${JSON.stringify(line)}\n`;
    const size = Buffer.byteLength(text);
    const full = this.lines >= this.limits.maxRequests || this.bytes + size > this.limits.maxBytes - BYTE_MARGIN;
    if (this.fd === undefined || (full && this.lines > 0)) this.rotate();
    writeSync(this.fd!, text);
    this.lines++;
    this.bytes += size;
  }

  get requestCount(): number {
    return this.written.size;
  }

  close(): void {
    this.finishChunk();
  }

  private rotate(): void {
    this.finishChunk();
    this.chunk++;
    this.fd = openSync(this.chunkPath(".tmp"), "w");
    this.lines = 0;
    this.bytes = 0;
  }

  private finishChunk(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.chunkPath(".tmp"), this.chunkPath(""));
    this.files.push(this.chunkPath(""));
  }

  private chunkPath(suffix: string): string {
    return join(this.dir, `${this.prefix}-${String(this.chunk).padStart(5, "0")}.jsonl${suffix}`);
  }
}

/**
 * Where a result is (file, line, byte range), so errors name the file and line and memory holds
 * ~150 bytes per result rather than its body: `resultBody` reads the line again when it is used.
 */
export interface BatchResult {
  file: string;
  line: number;
  offset: number;
  length: number;
  failure?: string;
}

/** The response body of a successful result, read back from its file. */
export function resultBody(result: BatchResult): unknown {
  const fd = openSync(result.file, "r");
  try {
    const buffer = Buffer.alloc(result.length);
    readSync(fd, buffer, 0, result.length, result.offset);
    return (JSON.parse(buffer.toString("utf8").replace(/^\uFEFF/, "")) as BatchResultLine).response?.body;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads result files (any order, any split) into custom_id → result. A success wins over a
 * failure of the same request (a re-submitted chunk); a malformed line is an error naming it.
 */
export async function readBatchResults(files: readonly string[]): Promise<Map<string, BatchResult>> {
  const results = new Map<string, BatchResult>();
  for (const file of files) {
    if (!existsSync(file)) throw new InputError(file, undefined, undefined, "no such file");
    let offset = 0;
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      const length = Buffer.byteLength(text);
      const at = { file, line: ++line, offset, length };
      offset += length + 1;
      if (text.trim() === "") continue;
      const parsed = parseResultLine(text, at);
      const result = { ...at, ...failureOf(parsed) };
      const previous = results.get(parsed.custom_id);
      if (!previous || (previous.failure && !result.failure)) results.set(parsed.custom_id, result);
    }
  }
  return results;
}

function parseResultLine(text: string, at: { file: string; line: number }): BatchResultLine {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new InputError(at.file, at.line, undefined, `malformed JSON (${(error as Error).message})`);
  }
  const parsed = batchResultLineSchema.safeParse(value);
  if (!parsed.success) {
    const hint = "expected an OpenAI Batch result line ({custom_id, response, error})";
    throw zodInputError(parsed.error, at.file, at.line, hint);
  }
  return parsed.data;
}

function failureOf(line: BatchResultLine): { failure?: string } {
  const status = line.response?.status_code;
  if (!line.error && status !== undefined && status >= 200 && status < 300) return {};
  return { failure: line.error ? JSON.stringify(line.error) : `HTTP ${status ?? "none"}` };
}
