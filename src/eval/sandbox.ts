import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import PQueue from "p-queue";
import { z } from "zod";
import { SeapoError } from "../errors.js";

/**
 * Runs untrusted Python (HumanEval completions with their tests) in a separate process:
 * - a fresh temporary working directory, deleted afterwards; HOME and TMPDIR point into it;
 * - CPU-time, address-space, file-size and core-dump limits (setrlimit, inside the child);
 * - a wall-clock limit: the whole process group is killed with SIGKILL;
 * - no network: a new, empty network namespace (`unshare -rn`) where the system allows it, and in
 *   every case an audit hook that stops the program on socket creation;
 * - the same audit hook stops the program (exit 97) when it opens a file for writing, or removes,
 *   renames, links or changes a path, outside its directory, or starts a process, sends a signal
 *   or loads native code through ctypes.
 * The audit hook is defence against accidents, not against an adversary who writes ctypes-free
 * exploits for CPython; the namespace and the resource limits are enforced by the kernel.
 */
export interface SandboxOptions {
  /** Python interpreter; default "python3". */
  python?: string;
  /** Wall-clock limit per program; default 10 000 ms. */
  timeoutMs?: number;
  /** CPU-time limit per program; default 3 s (code_eval's per-program timeout). */
  cpuSeconds?: number;
  /** Address-space limit; default 1 GiB. */
  memoryBytes?: number;
  /** Largest file the program may write; default 16 MiB. */
  fileSizeBytes?: number;
  /** Programs running at once; default the number of CPUs. */
  concurrency?: number;
}

export type SandboxStatus = "passed" | "failed" | "timeout" | "blocked";

export interface SandboxResult {
  status: SandboxStatus;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The last lines the program wrote to stderr (at most 2 000 characters). */
  stderr: string;
}

/** How HumanEval's programs were confined; recorded in the results file. */
export const sandboxIsolationSchema = z.object({
  python: z.string(),
  pythonVersion: z.string(),
  network: z.enum(["namespace", "audit-hook"]),
  filesystem: z.literal("audit-hook"),
  timeoutMs: z.number(),
  cpuSeconds: z.number(),
  memoryBytes: z.number(),
  fileSizeBytes: z.number(),
});
export type SandboxIsolation = z.output<typeof sandboxIsolationSchema>;

export interface Sandbox {
  readonly isolation: SandboxIsolation;
  run(program: string): Promise<SandboxResult>;
}

/** Exit status the audit hook uses when it stops a program. */
export const BLOCKED_EXIT = 97;

// The wrapper the child runs: limits, then the audit hook, then the program. argv: program cpu mem fsize.
const WRAPPER = String.raw`
import os, sys, resource
program, cpu, mem, fsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
with open(program) as f:
    source = f.read()
root = os.path.realpath(os.getcwd())
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
FORBIDDEN = {"socket.__new__", "socket.connect", "socket.bind", "subprocess.Popen", "os.system", "os.exec",
             "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn",
             "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function"}
PATH_ARGS = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
             "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,),
             "os.chflags": (0,), "os.lchflags": (0,), "os.lchmod": (0,), "os.lchown": (0,), "os.mkfifo": (0,),
             "os.mknod": (0,), "os.setxattr": (0,), "os.removexattr": (0,), "shutil.rmtree": (0,)}
busy = False
def stop(event, detail):
    os.write(2, ("seapo-sandbox: blocked %s %s\n" % (event, detail)).encode("utf-8", "replace"))
    os._exit(${BLOCKED_EXIT})
def outside(path):
    if isinstance(path, int):
        return False
    full = os.path.realpath(os.fsdecode(path))
    return full != root and not full.startswith(root + os.sep)
def hook(event, args):
    global busy
    if busy:
        return
    busy = True
    try:
        if event in FORBIDDEN:
            stop(event, "")
        if event == "open" and len(args) >= 3 and isinstance(args[2], int) and args[2] & WRITE and outside(args[0]):
            stop(event, repr(args[0]))
        for i in PATH_ARGS.get(event, ()):
            if i < len(args) and args[i] is not None and outside(args[i]):
                stop(event, repr(args[i]))
    finally:
        busy = False
sys.addaudithook(hook)
sys.argv = [program]
code = compile(source, program, "exec")
exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
`;

interface Probe {
  python: string;
  version: string;
  prefix: string[];
}

let probed: Promise<Probe> | undefined;
let probedFor: string | undefined;

/** Finds the real interpreter (not a shim) and whether an empty network namespace can be made. */
function probe(python: string): Promise<Probe> {
  if (probed && probedFor === python) return probed;
  probedFor = python;
  probed = (async () => {
    const info = spawnSync(
      python,
      ["-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"],
      { encoding: "utf8" },
    );
    if (info.error || info.status !== 0) {
      throw new SeapoError(
        `HumanEval runs generated code with Python, but "${python}" did not start (${info.error?.message ?? info.stderr.trim()}); install python3 or pass --python`,
      );
    }
    const [executable, version] = info.stdout.trim().split("\n");
    const real = executable || python;
    for (const prefix of [
      ["unshare", "-rn"],
      ["unshare", "-n"],
    ]) {
      const test = spawnSync(prefix[0]!, [...prefix.slice(1), real, "-c", "pass"], { encoding: "utf8" });
      if (!test.error && test.status === 0) return { python: real, version: version ?? "", prefix };
    }
    return { python: real, version: version ?? "", prefix: [] };
  })();
  return probed;
}

export async function createSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const found = await probe(options.python ?? "python3");
  const isolation: SandboxIsolation = {
    python: found.python,
    pythonVersion: found.version,
    network: found.prefix.length > 0 ? "namespace" : "audit-hook",
    filesystem: "audit-hook",
    timeoutMs: options.timeoutMs ?? 10_000,
    cpuSeconds: options.cpuSeconds ?? 3,
    memoryBytes: options.memoryBytes ?? 1024 ** 3,
    fileSizeBytes: options.fileSizeBytes ?? 16 * 1024 ** 2,
  };
  const queue = new PQueue({ concurrency: options.concurrency ?? availableParallelism() });
  return {
    isolation,
    run: (program) => queue.add(() => runOnce(program, found, isolation)) as Promise<SandboxResult>,
  };
}

async function runOnce(program: string, found: Probe, limits: SandboxIsolation): Promise<SandboxResult> {
  const dir = await mkdtemp(join(tmpdir(), "seapo-sandbox-"));
  try {
    await writeFile(join(dir, "program.py"), program);
    const args = [
      "-I",
      "-B",
      "-c",
      WRAPPER,
      "program.py",
      String(limits.cpuSeconds),
      String(limits.memoryBytes),
      String(limits.fileSizeBytes),
    ];
    const [command, ...prefixArgs] = [...found.prefix, found.python];
    const started = Date.now();
    const child = spawn(command!, [...prefixArgs, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, TMPDIR: dir, LANG: "C.UTF-8" },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, limits.timeoutMs);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, sig) => resolve([code, sig]));
    }).finally(() => clearTimeout(timer));
    const durationMs = Date.now() - started;
    const status: SandboxStatus =
      exitCode === 0
        ? "passed"
        : exitCode === BLOCKED_EXIT
          ? "blocked"
          : timedOut || signal === "SIGXCPU" || signal === "SIGKILL"
            ? "timeout"
            : "failed";
    return { status, exitCode, signal, durationMs, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
