import { createReadStream, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { InputError } from "../errors.js";

/** One entry of an input file, or a line that is not valid JSON (kept so a caller may skip it). */
export type JsonEntry = { line: number; value: unknown } | { line: number; malformed: string; text: string };

/**
 * Every value in a JSONL file, or in a JSON-array file (`.json` starting with `[`).
 * A malformed line throws an InputError naming the file and line.
 */
export async function* readJsonLines(path: string): AsyncGenerator<{ line: number; value: unknown }> {
  for await (const entry of readJsonEntries(path)) {
    if ("malformed" in entry)
      throw new InputError(
        path,
        entry.line,
        undefined,
        `malformed JSON: ${entry.malformed}`,
        "each line must hold one JSON value",
      );
    yield entry;
  }
}

/**
 * Like readJsonLines, but a malformed JSONL line comes back as an entry instead of throwing.
 * JSONL is read line by line from a stream, so memory stays flat whatever the file size.
 * JSON arrays (LLaMA-Factory's files, which are small) are parsed whole; there "line" means
 * element index + 1, not a line of the file.
 */
export async function* readJsonEntries(path: string): AsyncGenerator<JsonEntry> {
  if (path.endsWith(".json")) {
    const text = await readText(path);
    if (text.trimStart().startsWith("[")) {
      yield* arrayEntries(path, text);
      return;
    }
    yield* textLines(text.split("\n"));
    return;
  }
  const stream = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    yield* textLines(lines);
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function* textLines(lines: Iterable<string> | AsyncIterable<string>): AsyncGenerator<JsonEntry> {
  let line = 0;
  for await (const raw of lines) {
    line++;
    // A byte-order mark is not JSON whitespace, and editors on Windows like to add one.
    const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (text.trim() === "") continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch (error) {
      yield { line, malformed: (error as Error).message, text };
    }
  }
}

function* arrayEntries(path: string, text: string): Generator<JsonEntry> {
  let rows: unknown;
  try {
    rows = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new InputError(
      path,
      undefined,
      undefined,
      `malformed JSON: ${(error as Error).message}`,
      "a .json input must be one JSON array of rows",
    );
  }
  if (!Array.isArray(rows)) throw new InputError(path, undefined, undefined, "expected a JSON array of rows");
  for (const [index, value] of rows.entries()) yield { line: index + 1, value: value as unknown };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw unreadable(path, error);
  }
}

/** File-system errors become input errors (the user named a bad path); anything else is passed on. */
function unreadable(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof InputError || typeof code !== "string") return error;
  const problem =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory, not a file"
        : `cannot read the file (${code})`;
  return new InputError(path, undefined, undefined, problem);
}

/**
 * Streams the records of a JSONL file this project wrote itself (a journal, metrics): a missing
 * file has none. Input from users goes through readJsonLines, whose errors name the line.
 */
export async function* readRecords<T = unknown>(path: string): AsyncGenerator<T> {
  if (!existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) yield JSON.parse(line) as T;
}

/** Records as JSONL text: one JSON value a line, each line ended by a newline. */
export function toJsonLines(records: Iterable<unknown>): string {
  let text = "";
  for (const record of records) text += `${JSON.stringify(record)}\n`;
  return text;
}
