// Where bubblewrap is missing: the weaker jails still judge by the harness, clean up without throwing,
// and say loudly (and in the results) what they are.
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createSandbox } from "../../src/eval/sandbox/index.js";
import {
  ADD,
  bubblewrapWorks,
  judge,
  killLeftovers,
  processesWith,
  realProblems,
  spawnBody,
  WRONG,
} from "./sandbox/attacks.js";

const marker = `seapo-fallback-${process.pid}-${Date.now()}`;
afterAll(() => {
  killLeftovers(marker);
});

describe("sandbox without a jail", async () => {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  const sandbox = await createSandbox({ jail: "none", timeoutMs: 8_000 });
  const warnings = warn.mock.calls.map((call) => String(call[0]));
  warn.mockRestore();

  it("warns loudly and marks the results unsandboxed", () => {
    expect(warnings.some((w) => w.includes("WARNING") && w.includes("NO JAIL"))).toBe(true);
    expect(sandbox.isolation).toMatchObject({
      jail: "none",
      sandboxed: false,
      verdict: "harness",
      network: "audit-hook",
    });
  });

  it("still judges by the harness: exit 0 and an always-equal value do not pass", async () => {
    expect((await judge(sandbox, ADD, ADD.canonical_solution)).status).toBe("passed");
    expect((await judge(sandbox, ADD, `${WRONG}import os\nos._exit(0)\n`)).status).toBe("failed");
    const always = "    class _Any:\n        def __eq__(self, other): return True\n    return _Any()\n";
    expect((await judge(sandbox, realProblems([0])[0]!, always)).status).toBe("failed");
  });

  it("cleans up a 2,100-deep directory, or reports it, without throwing", async () => {
    const body =
      "    import os\n    fd = os.open('.', os.O_RDONLY)\n    for _ in range(2100):\n        try:\n            os.mkdir('d', dir_fd=fd)\n        except FileExistsError:\n            pass\n        fd = os.open('d', os.O_RDONLY, dir_fd=fd)\n" +
      ADD.canonical_solution;
    const result = await judge(sandbox, ADD, body);
    expect(result.status).toBe("passed");
    expect(result.cleanup).toBeUndefined(); // coreutils rm removed what Node's rm could not
  });

  it("does not throw when a leftover process writes during cleanup", async () => {
    const writer =
      "import os, time\nend = time.time() + 3\ni = 0\nwhile time.time() < end:\n    i += 1\n    try: open('w%d' % i, 'w').close()\n    except Exception: pass";
    const body = `${spawnBody([sandbox.isolation.python, "-c", writer, marker], { quiet: true })}\n    import time\n    time.sleep(0.5)\n${ADD.canonical_solution}`;
    const result = await judge(sandbox, ADD, body);
    expect(result.status).toBe("passed");
    killLeftovers(marker);
  });
});

const unshareWorks = spawnSync("unshare", ["-r", "-n", "true"]).status === 0;

describe.skipIf(!unshareWorks)("sandbox with unshare only", async () => {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  const sandbox = await createSandbox({ jail: "unshare", timeoutMs: 8_000 });
  const warnings = warn.mock.calls.map((call) => String(call[0]));
  warn.mockRestore();

  it("warns, and records a network namespace but no filesystem jail", () => {
    expect(warnings.some((w) => w.includes("WARNING") && w.includes("only unshare"))).toBe(true);
    expect(sandbox.isolation).toMatchObject({
      jail: "unshare",
      sandboxed: true,
      network: "namespace",
      filesystem: "audit-hook",
    });
  });

  it("judges by the harness and leaves no forked child behind", async () => {
    expect((await judge(sandbox, ADD, ADD.canonical_solution)).status).toBe("passed");
    expect((await judge(sandbox, ADD, `${WRONG}import os\nos._exit(0)\n`)).status).toBe("failed");
    const seconds = `${40 + (process.pid % 1000) / 1000}`;
    const result = await judge(sandbox, ADD, `${spawnBody(["/bin/sleep", seconds])}\n${ADD.canonical_solution}`);
    expect(result.status).toBe("passed");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesWith(`sleep\0${seconds}`)).toEqual([]);
  });
});

describe.skipIf(!bubblewrapWorks)("sandbox with bubblewrap", async () => {
  const sandbox = await createSandbox({ timeoutMs: 8_000 });
  it("is the jail chosen by default, recorded as such", () => {
    expect(sandbox.isolation).toMatchObject({ jail: "bubblewrap", sandboxed: true, filesystem: "read-only-binds" });
  });
});
