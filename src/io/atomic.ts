import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";

/** Write to a temporary name, flush, then rename: readers see the old file or the new one, never half. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** A line-by-line writer with the same all-or-nothing guarantee, for large exports. */
export class AtomicLineWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private buffer: string[] = [];
  private buffered = 0;
  count = 0;

  constructor(readonly path: string) {
    this.tmp = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.tmp, "w");
  }

  write(record: object): void {
    this.writeLine(JSON.stringify(record));
  }

  /** `text` must be one line (no newline inside), such as a line read back from a JSONL file. */
  writeLine(text: string): void {
    const line = `${text}\n`;
    this.buffer.push(line);
    this.buffered += line.length;
    this.count++;
    if (this.buffered > 1 << 20) this.flush();
  }

  commit(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join(""));
    this.buffer = [];
    this.buffered = 0;
  }
}
