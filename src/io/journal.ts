import { closeSync, existsSync, ftruncateSync, openSync, readSync, fstatSync, writeSync } from "node:fs";

/**
 * An append-only JSONL file that survives SIGKILL: each record goes out in one write() call, and
 * opening the file cuts off a torn last line left by a kill mid-write. Runs resume by reading
 * back what their journals already hold.
 */
export class Journal {
  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  static open(path: string): Journal {
    if (existsSync(path)) cutTornTail(path);
    return new Journal(path, openSync(path, "a"));
  }

  append(record: object): void {
    this.appendLine(JSON.stringify(record));
  }

  /** `line` must be one line of JSON (no newline inside). */
  appendLine(line: string): void {
    writeSync(this.fd, `${line}\n`);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function cutTornTail(path: string): void {
  const fd = openSync(path, "r+");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    // Walk back from the end to the last newline; everything after it is a torn record.
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const read = readSync(fd, chunk, 0, end - start, start);
      const at = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (at >= 0) {
        if (start + at + 1 < size) ftruncateSync(fd, start + at + 1);
        return;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}
