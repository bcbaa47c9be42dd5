import { spawnSync } from "node:child_process";
import { lstatSync, readlinkSync } from "node:fs";
import { dirname } from "node:path";
import { SeapoError } from "../../errors.js";
import { PYTHON_WORKER } from "./python-worker.js";

/** How the worker is confined, strongest first. */
export const JAILS = ["bubblewrap", "unshare", "none"] as const;
export type JailKind = (typeof JAILS)[number];

export interface Interpreter {
  /** sys.executable: not a pyenv shim, but a venv's own python where it is one. */
  python: string;
  version: string;
  /** Folders outside /usr the interpreter needs (its prefix, a venv's base): bound read-only into the jail. */
  roots: string[];
}

/** What the harness needs to start one worker. */
export interface WorkerCommand {
  command: string[];
  cwd: string;
  env: Record<string, string>;
}

const ENV = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
/** The jail's working folder: its only writable place. */
const JAIL_DIR = "/sandbox";
/**
 * The worker's interpreter flags: isolated mode, no site-packages (HumanEval needs only the standard
 * library, and importing site costs more than the rest of the start), no .pyc writes.
 */
const WORKER_ARGS = ["-I", "-S", "-B", "-c", PYTHON_WORKER];
/** bubblewrap's namespaces, tried in turn: no nested user namespaces where the kernel lets bwrap forbid them. */
export const BWRAP_NAMESPACES = [
  ["--unshare-all", "--unshare-user", "--disable-userns"],
  ["--unshare-all", "--unshare-user"],
];
// util-linux unshare, most confining first: own user, network, pid and mount namespaces, the pid namespace
// killed with unshare; then network only.
const UNSHARE_PREFIXES = [
  ["unshare", "-r", "-n", "-p", "-f", "--kill-child", "--mount-proc"],
  ["unshare", "-r", "-n"],
];

export function findInterpreter(python: string): Interpreter {
  const script = [
    "import os, sys",
    "print(sys.executable); print(os.path.realpath(sys.executable))",
    "print('%d.%d.%d' % sys.version_info[:3]); print(sys.prefix); print(sys.base_prefix)",
  ].join("\n");
  const info = spawnSync(python, ["-c", script], { encoding: "utf8" });
  if (info.error || info.status !== 0) {
    throw new SeapoError(
      `HumanEval runs generated code with Python, but "${python}" did not start (${info.error?.message ?? info.stderr.trim()}); install python3 or pass --python`,
    );
  }
  const [executable, real, version, prefix, basePrefix] = info.stdout.trim().split("\n");
  const roots = [prefix, basePrefix, dirname(dirname(real ?? ""))].filter(
    (dir): dir is string => !!dir && dir !== "/" && !dir.startsWith("/usr/") && dir !== "/usr",
  );
  return { python: executable || python, version: version ?? "", roots: [...new Set(roots)] };
}

/** The system folders every program needs, bound read-only; merged-/usr symlinks stay symlinks. */
function systemBinds(): string[] {
  const binds: string[] = [];
  for (const path of ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]) {
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) binds.push("--symlink", readlinkSync(path), path);
      else if (stat.isDirectory()) binds.push("--ro-bind", path, path);
    } catch {
      // not on this system
    }
  }
  return binds;
}

/**
 * bubblewrap: new user, pid, network, IPC, UTS and cgroup namespaces; no capabilities; nothing of the
 * host but read-only system folders and the interpreter; a fresh size-limited tmpfs as cwd and TMPDIR
 * (no /tmp: as before, writing outside the working folder is refused);
 * a private /proc and a minimal /dev; the jail dies with the harness.
 */
export function bubblewrapCommand(interpreter: Interpreter, namespaces: string[], diskBytes: number): WorkerCommand {
  const roots = interpreter.roots.flatMap((dir) => ["--ro-bind", dir, dir]);
  const env = { ...ENV, HOME: JAIL_DIR, TMPDIR: JAIL_DIR };
  return {
    command: [
      "bwrap",
      ...namespaces,
      ...["--die-with-parent", "--new-session"],
      ...["--cap-drop", "ALL", "--clearenv"],
      ...Object.entries(env).flatMap(([key, value]) => ["--setenv", key, value]),
      ...systemBinds(),
      ...roots,
      ...["--proc", "/proc", "--dev", "/dev", "--size", String(diskBytes), "--tmpfs", JAIL_DIR, "--chdir", JAIL_DIR],
      "--",
      interpreter.python,
      ...WORKER_ARGS,
    ],
    cwd: "/",
    env: ENV,
  };
}

/** unshare (or nothing): the host's filesystem stays visible; the worker runs in `dir`. */
export function hostCommand(interpreter: Interpreter, prefix: string[], dir: string): WorkerCommand {
  return {
    command: [...prefix, interpreter.python, ...WORKER_ARGS],
    cwd: dir,
    env: { ...ENV, HOME: dir, TMPDIR: dir },
  };
}

/** The unshare prefixes that start a program here, most confining first. */
export function workingUnsharePrefixes(): string[][] {
  return UNSHARE_PREFIXES.filter((prefix) => {
    const test = spawnSync(prefix[0]!, [...prefix.slice(1), "true"], { encoding: "utf8" });
    return !test.error && test.status === 0;
  });
}
