import { basename } from "node:path";
import { InputError } from "../errors.js";
import { detectFormat, FORMAT_NAMES, FORMATS, type FormatName } from "./formats/index.js";
import { InvalidSourceRow, type ReadRow } from "./formats/shared.js";
import type { SourceRow } from "./types.js";
import { readJsonEntries } from "../io/index.js";

export type SourceFormat = "auto" | FormatName;
export const SOURCE_FORMATS: readonly SourceFormat[] = ["auto", ...FORMAT_NAMES];

/** A row that could not be used, with what was wrong; `raw` is the row as read (the line's text when it was not JSON). */
export interface SourceReject {
  line: number;
  field?: string;
  reason: string;
  raw: unknown;
}

export interface ReadSourceOptions {
  /** Default "auto": the first row whose keys name a format fixes it for the whole file. */
  format?: SourceFormat;
  /** Report bad rows through onReject and go on, instead of throwing at the first. */
  skipInvalid?: boolean;
  onReject?: (reject: SourceReject) => void;
}

/**
 * Streams an input file (JSONL or a JSON array) as SourceRows, whatever its format, validating
 * every row. A bad row throws an InputError naming file:line:field, unless skipInvalid is set.
 */
export async function* readSourceRows(path: string, options: ReadSourceOptions = {}): AsyncGenerator<SourceRow> {
  const requested = options.format ?? "auto";
  let format: { name: FormatName; detectedAt?: number } | undefined =
    requested === "auto" ? undefined : { name: requested };
  for await (const entry of readJsonEntries(path)) {
    const { line } = entry;
    let row: ReadRow;
    try {
      if ("malformed" in entry)
        throw new InvalidSourceRow(
          undefined,
          `malformed JSON: ${entry.malformed}`,
          "each line must hold one JSON object",
        );
      format ??= { name: detectFormat(entry.value), detectedAt: line };
      row = FORMATS[format.name].read(entry.value);
    } catch (error) {
      if (!(error instanceof InvalidSourceRow)) throw error;
      const raw = "malformed" in entry ? entry.text : entry.value;
      if (options.skipInvalid) {
        options.onReject?.({
          line,
          ...(error.field !== undefined && { field: error.field }),
          reason: error.problem,
          raw,
        });
        continue;
      }
      throw new InputError(path, line, error.field, error.problem, hintFor(error, format));
    }
    yield {
      id: row.id ?? `${basename(path)}:${line}`,
      prompt: row.prompt,
      history: row.history,
      response: row.response,
      ...(row.rejected !== undefined && { rejected: row.rejected }),
      ...(row.meta !== undefined && { meta: row.meta }),
      line,
    };
  }
}

function hintFor(
  problem: InvalidSourceRow,
  format: { name: FormatName; detectedAt?: number } | undefined,
): string | undefined {
  if (!format) return problem.hint;
  const hint = problem.hint ?? `${format.name} rows look like ${FORMATS[format.name].shape}`;
  return format.detectedAt === undefined
    ? hint
    : `${hint}; format "${format.name}" was detected from line ${format.detectedAt}`;
}
