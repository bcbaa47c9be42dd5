import { z } from "zod";
import { JAILS, type JailKind } from "./jail.js";

export interface SandboxOptions {
  /** Python interpreter; default "python3". */
  python?: string;
  /** Wall-clock limit per program, on the exit of every process of the run; default 10 000 ms. */
  timeoutMs?: number;
  /** CPU-time limit per process; default 3 s (code_eval's per-program timeout). */
  cpuSeconds?: number;
  /** Address space per process and, where a memory cgroup can be made, memory of the whole run; default 1 GiB. */
  memoryBytes?: number;
  /** Largest file the program may write; default 16 MiB. */
  fileSizeBytes?: number;
  /** Processes (and threads) the program may run at once, itself included; default 8. */
  processes?: number;
  /** Size of the jail's tmpfs, the only place it can write; default 64 MiB. */
  diskBytes?: number;
  /** Most bytes of stderr, and of one returned value, taken from the program; default 4 MiB. */
  outputBytes?: number;
  /** Programs running at once; default the number of CPUs. */
  concurrency?: number;
  /** Force a jail (tests; "none" only to compare). Default: the strongest that works here. */
  jail?: JailKind;
}

export type SandboxLimits = Required<Omit<SandboxOptions, "python" | "concurrency" | "jail">>;

/** A program and its tests, kept apart: the program runs jailed, the tests in the trusted harness. */
export interface SandboxJob {
  /** The candidate's module (HumanEval: the prompt followed by the completion). */
  program: string;
  /** The function of `program` the tests call. */
  entryPoint: string;
  /** Trusted code the harness runs before the tests (HumanEval: the prompt, whose helpers some tests use). */
  context?: string;
  /** Trusted test code defining `check(candidate)`; the program can never read it. */
  tests: string;
  /** The test function's name; default "check". */
  check?: string;
}

export type SandboxStatus = "passed" | "failed" | "timeout" | "blocked";

export interface SandboxResult {
  status: SandboxStatus;
  /** The candidate's process's exit status where it ended on its own; null where it was still running. */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The candidate's last stderr lines, then why it failed (at most 2 000 characters). */
  stderr: string;
  /** What could not be cleaned up after the run (reported, never thrown). */
  cleanup?: string[];
}

/** How HumanEval's programs were confined; recorded in the results file. */
export const sandboxIsolationSchema = z.object({
  python: z.string(),
  pythonVersion: z.string(),
  /** The fields below up to `totals` are absent in files written before the harness/jail sandbox. */
  jail: z.enum(JAILS).optional(),
  /** False where no jail worked: the numbers came from programs that could reach the host. */
  sandboxed: z.boolean().optional(),
  /** Pass/fail decided by the trusted harness (files from the earlier sandbox, which read exit statuses, lack it). */
  verdict: z.literal("harness").optional(),
  network: z.enum(["namespace", "audit-hook"]),
  filesystem: z.enum(["read-only-binds", "audit-hook"]),
  /** "cgroup": processes and memory limited for the run as a whole; "rlimit": per process only. */
  totals: z.enum(["cgroup", "rlimit"]).optional(),
  timeoutMs: z.number(),
  cpuSeconds: z.number(),
  memoryBytes: z.number(),
  fileSizeBytes: z.number(),
  processes: z.number().optional(),
  diskBytes: z.number().optional(),
  outputBytes: z.number().optional(),
});
export type SandboxIsolation = z.output<typeof sandboxIsolationSchema>;

export interface Sandbox {
  readonly isolation: SandboxIsolation;
  run(job: SandboxJob): Promise<SandboxResult>;
}
