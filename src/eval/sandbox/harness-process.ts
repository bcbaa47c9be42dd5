import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { PYTHON_HARNESS } from "./python-harness.js";

/** Everything the harness reads from its stdin for one run. */
export interface HarnessJob {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  cgroups: string[];
  limits: { cpu: number; memory: number; fileSize: number; processes: number; reply: number; output: number };
  solution: string;
  context: string;
  tests: string;
  entry: string;
  check: string;
}

export interface Verdict {
  status: "passed" | "failed" | "timeout" | "blocked";
  detail: string;
  stderr: string;
  exitCode: number | null;
}

export interface HarnessOutcome {
  /** Undefined where the harness wrote none (killed at the deadline, or it failed to start). */
  verdict?: Verdict;
  timedOut: boolean;
  /** The harness's own stderr (its errors; the worker's stderr comes inside the verdict). */
  stderr: string;
  durationMs: number;
}

const VERDICT_LIMIT = 1 << 20;
/** How long to wait for the verdict pipe to drain once the harness has exited. */
const DRAIN_MS = 1_000;

function collect(stream: Readable, limit: number, keepTail: boolean): () => string {
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text = keepTail ? (text + chunk.toString("utf8")).slice(-limit) : (text + chunk.toString("utf8")).slice(0, limit);
  });
  stream.on("error", () => {});
  return () => text;
}

function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) resolve();
    stream.once("end", resolve);
    stream.once("close", resolve);
  });
}

/**
 * Runs the harness with a hard deadline on its exit (not on its pipes closing): at `timeoutMs` the whole
 * process group is killed, and the jail, which dies with the harness, goes with it.
 */
export async function runHarness(python: string, job: HarnessJob, timeoutMs: number): Promise<HarnessOutcome> {
  const started = Date.now();
  const child = spawn(python, ["-I", "-S", "-B", "-c", PYTHON_HARNESS], {
    cwd: "/",
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    stdio: ["pipe", "ignore", "pipe", "pipe"],
    detached: true,
  });
  const verdictStream = child.stdio[3] as Readable;
  const verdictText = collect(verdictStream, VERDICT_LIMIT, false);
  const stderr = collect(child.stderr!, 4000, true);
  child.stdin!.on("error", () => {});
  child.stdin!.end(JSON.stringify(job));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid!);
  }, timeoutMs);
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", () => resolve());
  }).finally(() => clearTimeout(timer));
  killGroup(child.pid!); // whatever of the run is left in the harness's process group
  await Promise.race([ended(verdictStream), new Promise((resolve) => setTimeout(resolve, DRAIN_MS))]);
  verdictStream.destroy();
  child.stderr!.destroy();
  return { verdict: parseVerdict(verdictText()), timedOut, stderr: stderr(), durationMs: Date.now() - started };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function parseVerdict(text: string): Verdict | undefined {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as Verdict;
  } catch {
    return undefined;
  }
}
