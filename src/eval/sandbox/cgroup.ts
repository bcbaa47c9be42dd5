import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Totals across every process of one run, where this machine lets us make cgroups: a pids limit
 * (what RLIMIT_NPROC cannot do for root, which it exempts) and a memory limit, which also counts the
 * run's tmpfs. cgroup v1 (separate pids and memory hierarchies) or a delegated v2 subtree.
 */
export interface CgroupBases {
  /** Folders new cgroups are made in, with the files that set the limits. */
  pids: { dir: string; file: string };
  memory: { dir: string; file: string };
}

const ROOT = "/sys/fs/cgroup";

/** This process's cgroup path per v1 controller (and "" for v2), from /proc/self/cgroup. */
function ownPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").trim().split("\n")) {
    const [, controllers, path] = line.split(":");
    for (const controller of (controllers ?? "").split(",")) paths.set(controller, path ?? "/");
  }
  return paths;
}

/** A cgroup folder we can make and remove, whose limit file exists; undefined where none. */
function probe(dir: string, file: string): { dir: string; file: string } | undefined {
  const test = join(dir, `seapo-probe-${process.pid}`);
  try {
    mkdirSync(test);
    try {
      readFileSync(join(test, file));
      return { dir, file };
    } finally {
      rmdirSync(test);
    }
  } catch {
    return undefined;
  }
}

export function findCgroups(): CgroupBases | undefined {
  let paths: Map<string, string>;
  try {
    paths = ownPaths();
  } catch {
    return undefined;
  }
  const v1Pids = paths.has("pids") ? probe(join(ROOT, "pids", paths.get("pids")!), "pids.max") : undefined;
  const v1Memory = paths.has("memory")
    ? probe(join(ROOT, "memory", paths.get("memory")!), "memory.limit_in_bytes")
    : undefined;
  if (v1Pids && v1Memory) return { pids: v1Pids, memory: v1Memory };
  const v2 = join(ROOT, paths.get("") ?? "/");
  const v2Pids = probe(v2, "pids.max");
  const v2Memory = probe(v2, "memory.max");
  return v2Pids && v2Memory ? { pids: v2Pids, memory: v2Memory } : undefined;
}

export interface RunCgroup {
  /** cgroup.procs files the harness writes the jail's first pid into (before it starts). */
  procs: string[];
  /** Kills what is left (by pid) and removes the folders; returns the error text, never throws. */
  remove(): Promise<string | undefined>;
}

let made = 0;

export function makeRunCgroup(bases: CgroupBases, limits: { processes: number; memoryBytes: number }): RunCgroup {
  const name = `seapo-sandbox-${process.pid}-${++made}`;
  const dirs = [...new Set([join(bases.pids.dir, name), join(bases.memory.dir, name)])];
  for (const dir of dirs) mkdirSync(dir);
  writeFileSync(join(bases.pids.dir, name, bases.pids.file), String(limits.processes));
  writeFileSync(join(bases.memory.dir, name, bases.memory.file), String(limits.memoryBytes));
  return { procs: dirs.map((dir) => join(dir, "cgroup.procs")), remove: () => removeAll(dirs) };
}

async function removeAll(dirs: string[]): Promise<string | undefined> {
  const errors: string[] = [];
  for (const dir of dirs) {
    const error = await removeOne(dir);
    if (error) errors.push(error);
  }
  return errors.length > 0 ? errors.join("; ") : undefined;
}

async function removeOne(dir: string): Promise<string | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean))
        killQuietly(Number(pid));
      rmdirSync(dir);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (attempt >= 40) return `could not remove cgroup ${dir}: ${(error as Error).message}`;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
