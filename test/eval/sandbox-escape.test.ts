// Issue 12's escapes: the audit hook walked around or switched off, and results corrupted across runs.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/eval/sandbox/index.js";
import {
  ADD,
  bubblewrapWorks,
  sayIfNoBubblewrap,
  judge,
  killLeftovers,
  processesWith,
  spawnBody,
  WRONG,
} from "./sandbox/attacks.js";

sayIfNoBubblewrap("the escape tests");

let sandbox: Sandbox;
let host: string; // a host folder the candidate must not be able to touch
let victim: string; // a 0600 file in it
const marker = `seapo-attack-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  sandbox = await createSandbox({ cpuSeconds: 2, timeoutMs: 5_000 });
});
beforeEach(() => {
  host = mkdtempSync(join(tmpdir(), "seapo-attack-host-"));
  victim = join(host, "victim.txt");
  writeFileSync(victim, "precious");
  chmodSync(victim, 0o600);
});
afterAll(() => {
  killLeftovers(marker);
});

const q = (s: string) => JSON.stringify(s);
// The correct answer, so that only the side effect is under test.
const RIGHT = ADD.canonical_solution;
const attack = (lines: string[]) => lines.map((l) => `    ${l}`).join("\n") + "\n" + RIGHT;

describe.skipIf(!bubblewrapWorks)("sandbox: file and process escapes around the audit hook", () => {
  it("dir_fd= writes nothing outside", async () => {
    await judge(
      sandbox,
      ADD,
      attack([
        `fd = __import__('os').open(${q(host)}, __import__('os').O_RDONLY)`,
        `__import__('os').close(__import__('os').open('planted', __import__('os').O_WRONLY | __import__('os').O_CREAT, dir_fd=fd))`,
      ]),
    );
    expect(readdirSync(host)).toEqual(["victim.txt"]);
  });

  it("dir_fd= deletes nothing outside", async () => {
    await judge(
      sandbox,
      ADD,
      attack([`import os`, `fd = os.open(${q(host)}, os.O_RDONLY)`, `os.unlink('victim.txt', dir_fd=fd)`]),
    );
    expect(existsSync(victim)).toBe(true);
  });

  it("sqlite3.connect creates no file outside", async () => {
    await judge(
      sandbox,
      ADD,
      attack([`import sqlite3`, `sqlite3.connect(${q(join(host, "db.sqlite"))}).execute('create table t(x)')`]),
    );
    expect(readdirSync(host)).toEqual(["victim.txt"]);
  });

  it("readline.write_history_file writes no file outside", async () => {
    await judge(sandbox, ADD, attack([`import readline`, `readline.write_history_file(${q(join(host, "history"))})`]));
    expect(readdirSync(host)).toEqual(["victim.txt"]);
  });

  it("fchmod and utime on a read-only fd change nothing outside", async () => {
    const before = statSync(victim);
    await judge(
      sandbox,
      ADD,
      attack([`import os`, `fd = os.open(${q(victim)}, os.O_RDONLY)`, `os.fchmod(fd, 0o777)`, `os.utime(fd, (0, 0))`]),
    );
    const after = statSync(victim);
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it("a process started by _posixsubprocess.fork_exec in its own session does not outlive the run", async () => {
    const seconds = `${30 + (process.pid % 1000) / 1000}`;
    const started = Date.now();
    const result = await judge(sandbox, ADD, spawnBody(["/bin/sleep", seconds]) + "\n" + RIGHT);
    expect(result.status).toBe("passed");
    expect(Date.now() - started).toBeLessThan(3_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesWith(`sleep\0${seconds}`)).toEqual([]);
  });

  it("a multiprocessing 'spawn' child (an interpreter without the hook) writes nothing outside", async () => {
    await judge(
      sandbox,
      ADD,
      attack([
        `import multiprocessing, os`,
        `p = multiprocessing.get_context('spawn').Process(target=os.mkdir, args=(${q(join(host, "spawned"))},))`,
        `p.start(); p.join()`,
      ]),
    );
    expect(readdirSync(host)).toEqual(["victim.txt"]);
  });

  it("signal.pidfd_send_signal kills no host process", async () => {
    const target: ChildProcess = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await judge(
        sandbox,
        ADD,
        attack([`import os, signal`, `signal.pidfd_send_signal(os.pidfd_open(${target.pid}), 9)`]),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect({ exitCode: target.exitCode, signal: target.signalCode }).toEqual({ exitCode: null, signal: null });
    } finally {
      target.kill("SIGKILL");
    }
  });
});

describe.skipIf(!bubblewrapWorks)("sandbox: the audit hook switched off in one line", () => {
  it("os._exit = lambda *a: None, then open() outside writes nothing", async () => {
    await judge(
      sandbox,
      ADD,
      attack([`import os`, `os._exit = lambda *a: None`, `open(${q(join(host, "planted"))}, 'w').write('x')`]),
    );
    expect(readdirSync(host)).toEqual(["victim.txt"]);
  });

  it("__main__.busy = True, then ctypes writes nothing outside", async () => {
    await judge(
      sandbox,
      ADD,
      attack([
        `import __main__`,
        `__main__.busy = True`,
        `import ctypes`,
        `ctypes.CDLL(None).mkdir(${q(join(host, "planted"))}.encode(), 0o755)`,
      ]),
    );
    expect(readdirSync(host)).toEqual(["victim.txt"]);
  });
});

describe.skipIf(!bubblewrapWorks)("sandbox: nothing carries over to later problems or runs", () => {
  it("a leftover watcher cannot rewrite later problems: 0 of 10 wrong answers pass", async () => {
    const watcher = [
      "import glob, time",
      "end = time.time() + 8",
      "while time.time() < end:",
      "    for p in glob.glob('/tmp/seapo-sandbox-*/program.py') + glob.glob('/tmp/seapo-sandbox-*/*.py'):",
      "        try: open(p, 'w').write('pass\\n')",
      "        except Exception: pass",
      "    time.sleep(0.002)",
    ].join("\n");
    const python = sandbox.isolation.python;
    await judge(sandbox, ADD, spawnBody([python, "-c", watcher, marker], { quiet: true }) + "\n" + RIGHT);
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await judge(sandbox, ADD, WRONG)).status);
    expect(statuses.filter((s) => s === "passed")).toHaveLength(0);
  });

  it("a .pth written into the interpreter's site-packages cannot make a later, separate eval pass", async () => {
    const venv = mkdtempSync(join(tmpdir(), "seapo-attack-venv-"));
    const made = spawnSync("python3", ["-m", "venv", "--without-pip", venv], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
    const first = await createSandbox({ python: join(venv, "bin/python3"), timeoutMs: 5_000 });
    await judge(
      first,
      ADD,
      attack([
        `import __main__, site, os`,
        `__main__.busy = True`,
        `open(os.path.join(site.getsitepackages()[0], 'seapo_attack.pth'), 'w').write('import os, atexit; atexit.register(os._exit, 0)\\n')`,
      ]),
    );
    const later = await createSandbox({ python: join(venv, "bin/python3"), timeoutMs: 5_000 });
    expect((await judge(later, ADD, WRONG)).status).toBe("failed");
    const sitePackages = spawnSync(join(venv, "bin/python3"), ["-c", "import site; print(site.getsitepackages()[0])"], {
      encoding: "utf8",
    }).stdout.trim();
    expect(existsSync(join(sitePackages, "seapo_attack.pth"))).toBe(false);
  });
});
