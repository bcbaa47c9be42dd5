import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRunCgroup, type CgroupBases, type RunCgroup } from "./cgroup.js";
import { runHarness } from "./harness-process.js";
import { bubblewrapCommand, hostCommand, type Interpreter, type JailKind, type WorkerCommand } from "./jail.js";
import type { SandboxJob, SandboxLimits, SandboxResult } from "./types.js";

/** How one sandbox starts its workers: chosen once by createSandbox. */
export interface Setup {
  interpreter: Interpreter;
  jail: JailKind;
  /** bwrap's namespace flags, or the unshare command line. */
  flags: string[];
  cgroups?: CgroupBases;
  limits: SandboxLimits;
}

/** Processes of the run besides the candidate's: the harness, outer bwrap and its pid 1 (or unshare and its fork). */
const JAIL_PROCESSES = 3;

export async function runJob(job: SandboxJob, setup: Setup): Promise<SandboxResult> {
  const { limits } = setup;
  const dir = setup.jail === "bubblewrap" ? undefined : await mkdtemp(join(tmpdir(), "seapo-sandbox-"));
  const cleanups: string[] = [];
  let cgroup: RunCgroup | undefined;
  let result: SandboxResult;
  try {
    if (setup.cgroups) {
      try {
        const processes = limits.processes + JAIL_PROCESSES;
        cgroup = makeRunCgroup(setup.cgroups, { processes, memoryBytes: limits.memoryBytes });
      } catch (error) {
        cleanups.push(`no cgroup for this run: ${(error as Error).message}`);
      }
    }
    result = await judge(job, setup, workerCommand(setup, dir), cgroup?.procs ?? []);
  } finally {
    const cgroupError = await cgroup?.remove();
    if (cgroupError) cleanups.push(cgroupError);
    if (dir) {
      const dirError = await removeDir(dir);
      if (dirError) cleanups.push(dirError);
    }
  }
  return cleanups.length > 0 ? { ...result, cleanup: cleanups } : result;
}

function workerCommand(setup: Setup, dir: string | undefined): WorkerCommand {
  if (setup.jail === "bubblewrap") return bubblewrapCommand(setup.interpreter, setup.flags, setup.limits.diskBytes);
  return hostCommand(setup.interpreter, setup.flags, dir!);
}

async function judge(job: SandboxJob, setup: Setup, worker: WorkerCommand, cgroups: string[]): Promise<SandboxResult> {
  const { limits } = setup;
  const outcome = await runHarness(
    setup.interpreter.python,
    {
      ...worker,
      cgroups,
      limits: {
        cpu: limits.cpuSeconds,
        memory: limits.memoryBytes,
        fileSize: limits.fileSizeBytes,
        processes: limits.processes + 1,
        reply: limits.outputBytes,
        output: limits.outputBytes,
      },
      solution: job.program,
      context: job.context ?? "",
      tests: job.tests,
      entry: job.entryPoint,
      check: job.check ?? "check",
    },
    limits.timeoutMs,
  );
  const verdict = outcome.verdict;
  const status = outcome.timedOut ? "timeout" : (verdict?.status ?? "failed");
  const detail = verdict ? verdict.detail : `the harness wrote no verdict: ${outcome.stderr}`;
  const stderr = [verdict?.stderr ?? "", detail].filter(Boolean).join("\n");
  return {
    status,
    exitCode: verdict?.exitCode ?? null,
    signal: outcome.timedOut ? "SIGKILL" : null,
    durationMs: outcome.durationMs,
    stderr: stderr.slice(-2000),
  };
}

/** Removes a worker's folder; what cannot be removed (a 2,100-deep tree, a writer still busy) is reported, never thrown. */
async function removeDir(dir: string): Promise<string | undefined> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    return undefined;
  } catch (error) {
    spawnSync("rm", ["-rf", "--one-file-system", dir]); // coreutils rm walks any depth with openat()
    return existsSync(dir) ? `could not remove ${dir}: ${(error as Error).message}` : undefined;
  }
}
