/**
 * Runs untrusted Python (HumanEval completions) against trusted tests:
 * - a trusted harness process runs the tests and calls the candidate's function in a separate, jailed
 *   worker over pipes; only plain values come back, and the verdict goes to the evaluator on a pipe the
 *   worker never holds, after check() returns. Exit statuses never mean "passed";
 * - the worker's jail is bubblewrap where it works (own user, pid, network, IPC namespaces; read-only
 *   system binds; a size-limited tmpfs), else unshare, else nothing, with a loud warning and the
 *   results marked unsandboxed;
 * - per-process CPU, address-space, file-size, core and process-count limits; run totals for
 *   processes and memory through a cgroup where one can be made; stderr and replies capped;
 * - a hard deadline on the harness's exit; the jail dies with it, forked children included;
 * - cleanup errors are kept per run, never thrown.
 */
import { availableParallelism } from "node:os";
import PQueue from "p-queue";
import { findCgroups } from "./cgroup.js";
import { BWRAP_NAMESPACES, findInterpreter, workingUnsharePrefixes, type JailKind } from "./jail.js";
import { runJob, type Setup } from "./run-job.js";
import type { Sandbox, SandboxIsolation, SandboxLimits, SandboxOptions, SandboxResult } from "./types.js";

export { BLOCKED_EXIT } from "./python-worker.js";
export { JAILS, type JailKind } from "./jail.js";
export {
  sandboxIsolationSchema,
  type Sandbox,
  type SandboxIsolation,
  type SandboxJob,
  type SandboxOptions,
  type SandboxResult,
  type SandboxStatus,
} from "./types.js";

const SELF_TEST = {
  program: "def add(a, b):\n    return a + b\n",
  entryPoint: "add",
  tests: "def check(candidate):\n    assert candidate(2, 3) == 5\n",
};

const chosen = new Map<string, Promise<Setup>>();

function limitsOf(options: SandboxOptions): SandboxLimits {
  return {
    timeoutMs: options.timeoutMs ?? 10_000,
    cpuSeconds: options.cpuSeconds ?? 3,
    memoryBytes: options.memoryBytes ?? 1024 ** 3,
    fileSizeBytes: options.fileSizeBytes ?? 16 * 1024 ** 2,
    processes: options.processes ?? 8,
    diskBytes: options.diskBytes ?? 64 * 1024 ** 2,
    outputBytes: options.outputBytes ?? 4 * 1024 ** 2,
  };
}

/** The strongest jail that runs the self-test here (or the forced one); probed once per interpreter. */
async function choose(python: string, forced: JailKind | undefined): Promise<Setup> {
  const interpreter = findInterpreter(python);
  const cgroups = findCgroups();
  const limits = limitsOf({ timeoutMs: 10_000 });
  const prefixes = forced === undefined || forced === "unshare" ? workingUnsharePrefixes() : [];
  const candidates: Setup[] = [
    ...BWRAP_NAMESPACES.map((flags): Setup => ({ interpreter, jail: "bubblewrap", flags, cgroups, limits })),
    ...prefixes.map((flags): Setup => ({ interpreter, jail: "unshare", flags, cgroups, limits })),
    { interpreter, jail: "none" as const, flags: [], cgroups, limits },
  ].filter((setup) => forced === undefined || setup.jail === forced);
  const failures: string[] = [];
  for (const setup of candidates) {
    const result = await runJob(SELF_TEST, setup);
    if (result.status === "passed") return setup;
    failures.push(`${setup.jail} ${setup.flags.join(" ")}: ${result.status} ${result.stderr.slice(-300)}`);
  }
  throw new Error(`the sandbox could not run a trivial program with ${python}:\n${failures.join("\n")}`);
}

function warn(setup: Setup): void {
  if (setup.jail === "bubblewrap") return;
  const what =
    setup.jail === "unshare"
      ? "only unshare: the host's files stay readable and writes are stopped only by an audit hook"
      : "NO JAIL: generated code runs with your user's rights and the results are marked unsandboxed";
  console.warn(
    `seapo: WARNING: bubblewrap (bwrap) did not work here, so HumanEval's sandbox uses ${what}. Install it: apt-get install bubblewrap`,
  );
}

function isolationOf(setup: Setup): SandboxIsolation {
  const { limits, jail } = setup;
  return {
    python: setup.interpreter.python,
    pythonVersion: setup.interpreter.version,
    jail,
    sandboxed: jail !== "none",
    verdict: "harness",
    network: jail === "none" ? "audit-hook" : "namespace",
    filesystem: jail === "bubblewrap" ? "read-only-binds" : "audit-hook",
    totals: setup.cgroups ? "cgroup" : "rlimit",
    ...limits,
  };
}

export async function createSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const python = options.python ?? "python3";
  const key = `${python}\0${options.jail ?? ""}`;
  if (!chosen.has(key)) chosen.set(key, choose(python, options.jail));
  const probed = await chosen.get(key)!;
  const setup: Setup = { ...probed, limits: limitsOf(options) };
  warn(setup);
  const isolation = isolationOf(setup);
  const queue = new PQueue({ concurrency: options.concurrency ?? availableParallelism() });
  return { isolation, run: (job) => queue.add(() => runJob(job, setup)) as Promise<SandboxResult> };
}
