/**
 * Shared pieces of the sandbox attack tests (issue 12): HumanEval-shaped problems, the way a completion
 * is judged, and Python snippets the attacks reuse. Each attack was first run against the sandbox as it
 * was before the harness/jail rewrite; the tests assert the fixed behaviour.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Sandbox, SandboxResult } from "../../../src/eval/sandbox/index.js";
import { humanevalJob } from "../../../src/eval/tasks/humaneval.js";

/** Whether bubblewrap runs here; the escape and limit tests need it and say so loudly when it is missing. */
export const bubblewrapWorks = spawnSync("bwrap", ["--ro-bind", "/", "/", "true"]).status === 0;

export function sayIfNoBubblewrap(what: string): void {
  if (!bubblewrapWorks)
    console.error(
      `SANDBOX TEST: bubblewrap (bwrap) does not work here, so ${what} are SKIPPED; only the fallback tests run. apt-get install bubblewrap`,
    );
}

export interface Problem {
  task_id: string;
  prompt: string;
  entry_point: string;
  canonical_solution: string;
  test: string;
}

export const ADD: Problem = {
  task_id: "toy/add",
  prompt: 'def add(a, b):\n    """Return a + b."""\n',
  entry_point: "add",
  canonical_solution: "    return a + b\n",
  test: "\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
};

/** A wrong body for ADD: every attack below adds its trick to this, so a pass is always false. */
export const WRONG = "    return a - b + 1\n";

export const HUMANEVAL_FILE = join(import.meta.dirname, "../../../../shared/data/humaneval/HumanEval.jsonl");

export function humanevalProblems(): Problem[] {
  return readFileSync(HUMANEVAL_FILE, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Problem);
}

/** A handful of real problems with different argument and return types. */
export function realProblems(ids = [0, 2, 12, 23, 29, 35, 53, 101]): Problem[] {
  const all = humanevalProblems();
  return ids.map((i) => all[i]!);
}

/** Runs one completion of `problem` the way the HumanEval task does. */
export function judge(sandbox: Sandbox, problem: Problem, completion: string): Promise<SandboxResult> {
  return sandbox.run(humanevalJob(problem, completion));
}

/**
 * Python (indented as a function body) that starts argv in its own session, bypassing the audit hook.
 * The child keeps the candidate's stdin/stdout/stderr, or with `quiet` gets a pipe of its own for them.
 */
export function spawnBody(argv: string[], options: { quiet?: boolean } = {}): string {
  const indent = "    ";
  const args = `[${argv.map((a) => `os.fsencode(${JSON.stringify(a)})`).join(", ")}]`;
  const io = options.quiet ? "_nr, -1, -1, _nw, -1, _nw" : "-1, -1, -1, -1, -1, -1";
  return [
    "import _posixsubprocess, os",
    `_argv = ${args}`,
    "_r, _w = os.pipe()",
    "_nr, _nw = os.pipe()",
    "try:",
    `    _posixsubprocess.fork_exec(_argv, [_argv[0]], True, (), None, None, ${io}, _r, _w,`,
    "                               False, True, -1, None, None, None, -1, None, False)",
    "except Exception as _e:",
    "    import sys; print('spawn failed', repr(_e), file=sys.stderr)",
  ]
    .map((line) => indent + line)
    .join("\n");
}

/** Host processes whose command line contains `marker`, by pid (for cleaning up what an attack left). */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(marker)) found.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return found;
}

/** Kills, by pid, the processes an attack started (found by their unique marker). */
export function killLeftovers(marker: string): number {
  const pids = processesWith(marker);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  return pids.length;
}
