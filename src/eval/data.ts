import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { readJsonEntries } from "../io/index.js";

/**
 * Reads benchmark files under one data directory, validating every row, and remembers the sha256
 * of each file it read so the results can name exactly which data they came from.
 */
export class DataReader {
  /** Path relative to the root → sha256 of its bytes. */
  readonly hashes = new Map<string, string>();

  constructor(readonly root: string) {}

  path(relative: string): string {
    return join(this.root, relative);
  }

  async text(relative: string): Promise<string> {
    const file = this.path(relative);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw missing(file, error);
    }
    this.hashes.set(relative, createHash("sha256").update(bytes).digest("hex"));
    return bytes.toString("utf8");
  }

  /** One JSON object per line, each checked against `schema`. */
  async jsonl<T>(relative: string, schema: z.ZodType<T>): Promise<T[]> {
    const file = this.path(relative);
    await this.text(relative); // the file's hash, and the data-dir hint when it is missing
    const rows: T[] = [];
    for await (const entry of readJsonEntries(file)) {
      if ("malformed" in entry)
        throw new InputError(
          file,
          entry.line,
          undefined,
          `not valid JSON (${entry.malformed})`,
          "each line must hold one JSON object",
        );
      rows.push(validate(schema, entry.value, file, entry.line));
    }
    return rows;
  }

  /** A whole-file JSON document checked against `schema`. */
  async json<T>(relative: string, schema: z.ZodType<T>): Promise<T> {
    const file = this.path(relative);
    let value: unknown;
    try {
      value = JSON.parse(await this.text(relative));
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(file, undefined, undefined, `not valid JSON (${(error as Error).message})`);
    }
    return validate(schema, value, file, undefined);
  }

  /** A header-less CSV (RFC 4180: quoted fields may hold commas, quotes and newlines); each record has `columns` fields. */
  async csv(
    relative: string,
    columns: readonly string[],
  ): Promise<Array<{ line: number; fields: Record<string, string> }>> {
    const file = this.path(relative);
    return parseCsv(await this.text(relative)).map(({ line, fields }) => {
      if (fields.length !== columns.length) {
        throw new InputError(
          file,
          line,
          columns[Math.min(fields.length, columns.length - 1)],
          `expected ${columns.length} fields (${columns.join(", ")}), found ${fields.length}`,
          "quote fields that contain commas",
        );
      }
      return { line, fields: Object.fromEntries(columns.map((name, i) => [name, fields[i]!])) };
    });
  }

  /** File names in a folder with the given ending, sorted. */
  async list(relativeDir: string, suffix: string): Promise<string[]> {
    const dir = this.path(relativeDir);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      throw missing(dir, error);
    }
    return names.filter((name) => name.endsWith(suffix)).sort();
  }
}

function missing(file: string, error: unknown): Error {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") {
    return new InputError(
      file,
      undefined,
      undefined,
      "data file not found",
      "point --data-dir (or SEAPO_DATA_DIR) at the benchmark data folder (shared/data)",
    );
  }
  return error as Error;
}

function validate<T>(schema: z.ZodType<T>, value: unknown, file: string, line: number | undefined): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join(".") || undefined;
  throw new InputError(file, line, field, issue.message);
}

/** Records of a CSV text with the line each record starts on. */
export function parseCsv(text: string): Array<{ line: number; fields: string[] }> {
  const records: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let atFieldStart = true;
  let recordHasContent = false;
  const endRecord = () => {
    fields.push(field);
    if (recordHasContent || fields.length > 1 || field !== "") records.push({ line: recordLine, fields });
    fields = [];
    field = "";
    atFieldStart = true;
    recordHasContent = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
      recordHasContent = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
      atFieldStart = true;
      recordHasContent = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += ch;
      atFieldStart = false;
      recordHasContent = true;
    }
  }
  if (field !== "" || fields.length > 0 || recordHasContent) endRecord();
  return records;
}

/**
 * Where the benchmark data lives: the explicit option, else SEAPO_DATA_DIR, else `../shared/data`
 * next to the repository (the folder holding seapo's package.json).
 */
export function resolveDataDir(explicit?: string): string {
  if (explicit) return resolve(explicit);
  const fromEnv = process.env.SEAPO_DATA_DIR;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) return resolve("../shared/data");
    dir = parent;
  }
  return resolve(dir, "..", "shared", "data");
}
