import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";

/** Rows in an input file, for the progress bar's total: JSON arrays are parsed, JSONL lines counted. */
export async function countRows(path: string): Promise<number> {
  if (path.endsWith(".json")) {
    try {
      const value: unknown = JSON.parse(await readFile(path, "utf8"));
      return Array.isArray(value) ? value.length : 0;
    } catch {
      return 0; // the reader reports the real error with its location
    }
  }
  let lines = 0;
  let lastByte = 0x0a;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) lines++;
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
    }
  } catch {
    return 0;
  }
  return lastByte === 0x0a ? lines : lines + 1;
}
