import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/eval/sandbox.js";

let sandbox: Sandbox;
let server: Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  sandbox = await createSandbox({ cpuSeconds: 1, timeoutMs: 2_000 });
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("sandbox", () => {
  it("passes a correct program and fails a failing assertion", async () => {
    expect((await sandbox.run("def f(x):\n    return x + 1\nassert f(1) == 2\n")).status).toBe("passed");
    const failed = await sandbox.run("assert 1 + 1 == 3, 'wrong sum'\n");
    expect(failed.status).toBe("failed");
    expect(failed.stderr).toContain("wrong sum");
  });

  it("stops a program that loops forever (CPU limit)", async () => {
    const result = await sandbox.run("while True:\n    pass\n");
    expect(result.status).toBe("timeout");
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it("kills a program that sleeps past the wall-clock limit", async () => {
    const result = await sandbox.run("import time\ntime.sleep(60)\n");
    expect(result.status).toBe("timeout");
    expect(result.durationMs).toBeGreaterThanOrEqual(1_900);
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it("stops a program that opens a socket; nothing reaches the listener", async () => {
    const result = await sandbox.run(
      `import socket\ns = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\ns.sendall(b"hi")\n`,
    );
    expect(result.status).toBe("blocked");
    expect(result.stderr).toContain("socket");
    expect(connections).toBe(0);
  });

  it("runs in an empty network namespace where the system allows one (only a loopback device)", async () => {
    // Kernel-level isolation, independent of the audit hook: /proc/net/dev lists the namespace's devices.
    const program = [
      "rows = open('/proc/net/dev').read().split('\\n')[2:]",
      "devices = [r.split(':')[0].strip() for r in rows if r.strip()]",
      "assert devices == ['lo'], devices",
    ].join("\n");
    const result = await sandbox.run(program);
    if (sandbox.isolation.network === "namespace") expect(result).toMatchObject({ status: "passed" });
    else expect(result.status).toBe("failed");
  });

  it("stops a program that writes outside its directory, and allows writing inside it", async () => {
    const outside = join(tmpdir(), `seapo-sandbox-escape-${process.pid}-${Date.now()}.txt`);
    const result = await sandbox.run(`open(${JSON.stringify(outside)}, "w").write("escaped")\n`);
    expect(result.status).toBe("blocked");
    expect(existsSync(outside)).toBe(false);
    const viaParent = await sandbox.run(`open("../seapo-sandbox-parent-${process.pid}.txt", "a").write("x")\n`);
    expect(viaParent.status).toBe("blocked");
    const inside = await sandbox.run(
      `open("scratch.txt", "w").write("ok")\nassert open("scratch.txt").read() == "ok"\n`,
    );
    expect(inside.status).toBe("passed");
  });

  it("stops a program that deletes or starts processes", async () => {
    expect((await sandbox.run("import os\nos.remove('/etc/hostname')\n")).status).toBe("blocked");
    expect((await sandbox.run("import subprocess\nsubprocess.run(['true'])\n")).status).toBe("blocked");
    expect((await sandbox.run("import os\nos.system('true')\n")).status).toBe("blocked");
  });

  it("fails a program that exceeds the memory limit", async () => {
    const result = await sandbox.run("x = bytearray(4 * 1024 ** 3)\n");
    expect(result.status).toBe("failed");
    expect(result.stderr).toContain("MemoryError");
  });
});
