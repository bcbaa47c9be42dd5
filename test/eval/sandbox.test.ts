import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, sandboxIsolationSchema, type Sandbox, type SandboxJob } from "../../src/eval/sandbox/index.js";

let sandbox: Sandbox;
let server: Server;
let port = 0;
let connections = 0;

/** A job whose function `f()` runs `body` (indented) and whose test checks that f() returns `expected`. */
const job = (body: string, expected = "None"): SandboxJob => ({
  program: `def f():\n${body
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n")}\n`,
  entryPoint: "f",
  tests: `def check(candidate):\n    assert candidate() == ${expected}, 'wrong answer'\n`,
});

beforeAll(async () => {
  sandbox = await createSandbox({ cpuSeconds: 1, timeoutMs: 3_000 });
  if (sandbox.isolation.jail !== "bubblewrap")
    console.error(`SANDBOX TEST: bubblewrap does not work here; testing the "${sandbox.isolation.jail}" fallback`);
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("sandbox", () => {
  it("passes a correct function and fails a wrong one, with the test's message", async () => {
    expect((await sandbox.run(job("return 1 + 1", "2"))).status).toBe("passed");
    const failed = await sandbox.run(job("return 1 + 2", "2"));
    expect(failed.status).toBe("failed");
    expect(failed.stderr).toContain("wrong answer");
  });

  it("passes plain values of every kind through the channel, compared on the harness's side", async () => {
    const value =
      "[None, True, 2**80, -3, 1.5, float('inf'), 2j, 'é', b'\\x00', (1, 2), {1: [2]}, {3}, frozenset({4})]";
    expect((await sandbox.run(job(`return ${value}`, value))).status).toBe("passed");
  });

  it("records how it confines programs", () => {
    expect(sandbox.isolation).toMatchObject({ verdict: "harness", cpuSeconds: 1, timeoutMs: 3_000, processes: 8 });
    expect(sandbox.isolation.sandboxed).toBe(sandbox.isolation.jail !== "none");
  });

  it("still reads the isolation record of results files written by the earlier sandbox", () => {
    const earlier = {
      python: "/usr/bin/python3",
      pythonVersion: "3.11.2",
      network: "namespace",
      filesystem: "audit-hook",
      timeoutMs: 10000,
      cpuSeconds: 3,
      memoryBytes: 1073741824,
      fileSizeBytes: 16777216,
    };
    expect(sandboxIsolationSchema.parse(earlier)).toEqual(earlier);
    expect(sandboxIsolationSchema.safeParse({ ...earlier, jail: "chroot" }).success).toBe(false);
  });

  it("stops a function that loops forever (CPU limit)", async () => {
    const result = await sandbox.run(job("while True:\n    pass"));
    expect(result.status).toBe("timeout");
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it("kills a function that sleeps past the wall-clock limit", async () => {
    const result = await sandbox.run(job("import time\ntime.sleep(60)"));
    expect(result.status).toBe("timeout");
    expect(result.durationMs).toBeGreaterThanOrEqual(2_900);
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it("stops a function that opens a socket; nothing reaches the listener", async () => {
    const result = await sandbox.run(
      job(`import socket\ns = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\ns.sendall(b"hi")`),
    );
    expect(result.status).toBe("blocked");
    expect(result.stderr).toContain("socket");
    expect(connections).toBe(0);
  });

  it("runs in an empty network namespace (only a loopback device) unless no jail works", async () => {
    const body = [
      "rows = open('/proc/net/dev').read().split('\\n')[2:]",
      "return [r.split(':')[0].strip() for r in rows if r.strip()]",
    ].join("\n");
    const result = await sandbox.run(job(body, "['lo']"));
    expect(result.status).toBe(sandbox.isolation.network === "namespace" ? "passed" : "failed");
  });

  it("stops a function that writes outside its directory, and allows writing inside it", async () => {
    const outside = join(tmpdir(), `seapo-sandbox-escape-${process.pid}-${Date.now()}.txt`);
    const result = await sandbox.run(job(`open(${JSON.stringify(outside)}, "w").write("escaped")`));
    expect(result.status).toBe("blocked");
    expect(existsSync(outside)).toBe(false);
    const viaParent = await sandbox.run(job(`open("../seapo-sandbox-parent-${process.pid}.txt", "a").write("x")`));
    expect(viaParent.status).toBe("blocked");
    const inside = await sandbox.run(
      job(`open("scratch.txt", "w").write("ok")\nreturn open("scratch.txt").read()`, "'ok'"),
    );
    expect(inside.status).toBe("passed");
  });

  it("stops a function that deletes or starts processes", async () => {
    expect((await sandbox.run(job("import os\nos.remove('/etc/hostname')"))).status).toBe("blocked");
    expect((await sandbox.run(job("import subprocess\nsubprocess.run(['true'])"))).status).toBe("blocked");
    expect((await sandbox.run(job("import os\nos.system('true')"))).status).toBe("blocked");
  });

  it("fails a function that exceeds the memory limit", async () => {
    const result = await sandbox.run(job("x = bytearray(4 * 1024 ** 3)"));
    expect(result.status).toBe("failed");
    expect(result.stderr).toContain("MemoryError");
  });

  it("fails a program that does not load or lacks the entry point, saying why", async () => {
    const broken = await sandbox.run({ ...job("return 1"), program: "def f(:\n" });
    expect(broken.status).toBe("failed");
    expect(broken.stderr).toContain("SyntaxError");
    const missing = await sandbox.run({ ...job("return 1"), entryPoint: "g" });
    expect(missing.status).toBe("failed");
    expect(missing.stderr).toContain("no function 'g'");
  });
});
