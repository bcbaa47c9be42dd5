// Issue 12's failing limits and leaks: deadlines, totals across processes, cleanup, environment and files.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/eval/sandbox/index.js";
import {
  ADD,
  bubblewrapWorks,
  sayIfNoBubblewrap,
  judge,
  killLeftovers,
  processesWith,
  spawnBody,
  type Problem,
} from "./sandbox/attacks.js";

sayIfNoBubblewrap("the limit and leak tests");

const marker = `seapo-limits-${process.pid}-${Date.now()}`;
const MiB = 1024 ** 2;
const sandbox: Sandbox = await createSandbox({
  cpuSeconds: 2,
  timeoutMs: 4_000,
  processes: 8,
  memoryBytes: 512 * MiB,
  diskBytes: 64 * MiB,
});
if (sandbox.isolation.totals !== "cgroup")
  console.error("SANDBOX TEST: no writable pids/memory cgroup here; totals rest on RLIMIT_NPROC and the tmpfs size");
afterAll(() => {
  killLeftovers(marker);
});

const RIGHT = ADD.canonical_solution;
/** A problem of our own: `def probe():` returns what the candidate saw, and check() asserts on it. */
const probeProblem = (test: string): Problem => ({
  task_id: "toy/probe",
  prompt: 'def probe():\n    """What the candidate saw."""\n',
  entry_point: "probe",
  canonical_solution: "    return None\n",
  test: `\n\ndef check(candidate):\n${test}\n`,
});

describe.skipIf(!bubblewrapWorks)("sandbox: the deadline holds whatever the children do", () => {
  it("a child in its own session holding stderr open does not stretch the wall-clock limit", async () => {
    const seconds = `${15 + (process.pid % 1000) / 1000}`;
    const started = Date.now();
    const result = await judge(
      sandbox,
      ADD,
      `${spawnBody(["/bin/sleep", seconds])}\n    import time\n    time.sleep(100)\n`,
    );
    expect(result.status).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(7_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesWith(`sleep\0${seconds}`)).toEqual([]);
  });

  it("an endless child holding stderr open does not hang a run that has answered", async () => {
    const seconds = `${100000 + (process.pid % 1000) / 1000}`;
    const started = Date.now();
    const result = await judge(sandbox, ADD, `${spawnBody(["/bin/sleep", seconds])}\n${RIGHT}`);
    expect(result.status).toBe("passed");
    expect(Date.now() - started).toBeLessThan(4_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesWith(`sleep\0${seconds}`)).toEqual([]);
  });
});

describe.skipIf(!bubblewrapWorks)("sandbox: limits are totals across processes", () => {
  it("at most `processes` processes, however many the candidate forks", async () => {
    const body = [
      "    import _posixsubprocess, os",
      "    started = 0",
      "    for i in range(40):",
      "        r, w = os.pipe()",
      "        try:",
      "            _posixsubprocess.fork_exec([b'/bin/sleep', b'3'], [b'/bin/sleep'], True, (), None, None, -1, -1, -1, -1,",
      "                                       -1, -1, r, w, False, True, -1, None, None, None, -1, None, False)",
      "            started += 1",
      "        except OSError:",
      "            pass",
      "    return started",
    ].join("\n");
    const result = await judge(sandbox, probeProblem("    n = candidate()\n    assert n <= 8, n"), body);
    expect(result).toMatchObject({ status: "passed" });
  });

  it.skipIf(sandbox.isolation.totals !== "cgroup")(
    "at most memoryBytes in all, however many processes hold it",
    async () => {
      // 4 children of 200 MiB each, all alive at once, against a 512 MiB total: at most 2 can say "ok".
      const child =
        "import sys, time; b = b'x' * (200 << 20); sys.stdout.write('ok'); sys.stdout.flush(); time.sleep(2)";
      const body = [
        "    import _posixsubprocess, os, sys",
        "    exe = os.fsencode(sys.executable)",
        "    reads = []",
        "    for _ in range(4):",
        "        r, w = os.pipe(); er, ew = os.pipe()",
        `        _posixsubprocess.fork_exec([exe, b'-c', ${JSON.stringify(child)}.encode()], [exe], True, (), None, None, -1, -1, -1, w,`,
        "                                   -1, -1, er, ew, False, True, -1, None, None, None, -1, None, False)",
        "        os.close(w); reads.append(r)",
        "    return sum(os.read(r, 2) == b'ok' for r in reads)",
      ].join("\n");
      const roomy = await createSandbox({ timeoutMs: 15_000, processes: 8, memoryBytes: 512 * MiB });
      const result = await judge(roomy, probeProblem("    n = candidate()\n    assert n < 4, n"), body);
      expect(result.status, result.stderr).toBe("passed");
    },
  );

  it("at most diskBytes written in all, however many files", async () => {
    const body = [
      "    import os",
      "    written = 0",
      "    for i in range(16):",
      "        try:",
      "            with open('fill%d' % i, 'wb') as f:",
      "                for _ in range(15):",
      "                    f.write(b'x' * (1 << 20)); f.flush(); written += 1 << 20",
      "        except OSError:",
      "            pass",
      "    return written",
    ].join("\n");
    const result = await judge(sandbox, probeProblem(`    n = candidate()\n    assert 0 < n <= ${64 * MiB}, n`), body);
    expect(result).toMatchObject({ status: "passed" });
  });
});

describe.skipIf(!bubblewrapWorks)("sandbox: cleanup never aborts the eval", () => {
  it("a 2,100-deep directory is cleaned up (or the error kept) and the run still scores", async () => {
    // Through dir_fd, so that no path ever gets long (the tree is 4,200 characters deep, over PATH_MAX).
    const body =
      "    import os\n    fd = os.open('.', os.O_RDONLY)\n    for _ in range(2100):\n        try:\n            os.mkdir('d', dir_fd=fd)\n        except FileExistsError:\n            pass\n        fd = os.open('d', os.O_RDONLY, dir_fd=fd)\n" +
      RIGHT;
    await expect(judge(sandbox, ADD, body)).resolves.toMatchObject({ status: "passed" });
  });

  it("a process writing during cleanup does not make the run throw", async () => {
    const writer =
      "import os, time\nend = time.time() + 3\ni = 0\nwhile time.time() < end:\n    i += 1\n    try: open('w%d' % i, 'w').close()\n    except Exception: pass";
    // The writer is given time to start, so it is busy when the run ends and cleanup begins.
    const started = `${spawnBody([sandbox.isolation.python, "-c", writer, marker], { quiet: true })}\n    import time\n    time.sleep(0.5)\n`;
    const body = started + RIGHT;
    await expect(judge(sandbox, ADD, body)).resolves.toMatchObject({ status: "passed" });
  });
});

describe.skipIf(!bubblewrapWorks)("sandbox: nothing of the host leaks in", () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("an API key in a host process's environment (the evaluator's, the shell's) is nowhere the candidate can read", async () => {
    // Node's process.env edits never reach /proc/<pid>/environ, so a host process started with the key stands in.
    const key = `sk-seapo-attack-${Date.now()}`;
    const holder = spawn("sleep", ["30"], { stdio: "ignore", env: { ...process.env, SEAPO_ATTACK_API_KEY: key } });
    try {
      const body = [
        "    import os, glob",
        `    key = ${JSON.stringify(key)}`,
        "    if key in repr(dict(os.environ)): return 'environ'",
        "    for path in glob.glob('/proc/*/environ'):",
        "        try:",
        "            if key.encode() in open(path, 'rb').read(): return path",
        "        except OSError:",
        "            pass",
        "    return None",
      ].join("\n");
      const result = await judge(
        sandbox,
        probeProblem("    found = candidate()\n    assert found is None, found"),
        body,
      );
      expect(result).toMatchObject({ status: "passed" });
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("TCP to 127.0.0.1 does not go through, even from a fresh interpreter without the audit hook", async () => {
    const child = `import socket, sys\ntry:\n    socket.create_connection(('127.0.0.1', ${port}), timeout=1).sendall(b'hi')\nexcept OSError:\n    sys.exit(1)`;
    const body = [
      "    import _posixsubprocess, os, sys",
      "    exe = os.fsencode(sys.executable)",
      "    r, w = os.pipe()",
      `    pid = _posixsubprocess.fork_exec([exe, b'-I', b'-c', ${JSON.stringify(child)}.encode()], [exe], True, (), None, None,`,
      "                                     -1, -1, -1, -1, -1, -1, r, w, False, False, -1, None, None, None, -1, None, False)",
      "    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])",
    ].join("\n");
    const result = await judge(sandbox, probeProblem("    code = candidate()\n    assert code == 1, code"), body);
    expect(result).toMatchObject({ status: "passed" });
    expect(connections).toBe(0);
  });

  it("a 0600 file of the user and /etc/shadow never reach the result's stderr", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-attack-secret-"));
    const secret = join(dir, "secret.txt");
    writeFileSync(secret, `seapo-secret-${Date.now()}`);
    chmodSync(secret, 0o600);
    const shadowHead = readFileSync("/etc/shadow", "utf8").split(":")[0]!;
    const body = [
      "    import sys",
      `    for path in (${JSON.stringify(secret)}, '/etc/shadow'):`,
      "        try:",
      "            sys.stderr.write(open(path).read())",
      "        except OSError as e:",
      "            sys.stderr.write('unreadable %s\\n' % path)",
      `    raise ValueError(open(${JSON.stringify(secret)}).read())`,
    ].join("\n");
    const result = await judge(sandbox, ADD, body);
    expect(result.status).toBe("failed");
    expect(result.stderr.includes(readFileSync(secret, "utf8"))).toBe(false);
    expect(result.stderr.includes(`${shadowHead}:`)).toBe(false);
  });
});
