import { closeSync, existsSync, ftruncateSync, openSync, readSync, fstatSync, writeSync } from "node:fs";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

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

/** Streams the records of a JSONL file; a missing file has none. */
export async function* readRecords<T = unknown>(path: string): AsyncGenerator<T> {
  if (!existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) yield JSON.parse(line) as T;
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

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Runs `work` on up to `window` jobs at once and commits results in job order, so outputs are
 * deterministic and a prompt's negatives stay together. Memory is bounded by the window.
 */
export async function runInOrder<J, R>(
  jobs: AsyncIterable<J>,
  window: number,
  work: (job: J) => Promise<R>,
  commit: (job: J, result: R) => void,
): Promise<void> {
  const pending: Array<{ job: J; settled: Promise<Settled<R>> }> = [];
  const commitHead = async () => {
    const head = pending.shift()!;
    const settled = await head.settled;
    if (!settled.ok) throw settled.error;
    commit(head.job, settled.value);
  };
  try {
    for await (const job of jobs) {
      const settled = work(job).then(
        (value): Settled<R> => ({ ok: true, value }),
        (error: unknown): Settled<R> => ({ ok: false, error }),
      );
      pending.push({ job, settled });
      if (pending.length >= window) await commitHead();
    }
    while (pending.length > 0) await commitHead();
  } finally {
    // On failure, let work already started finish quietly so nothing rejects unobserved.
    await Promise.all(pending.map((p) => p.settled));
  }
}
