import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/**
 * llama.cpp's own `llama-server`, built from the source node-llama-cpp ships by
 * scripts/build-llama-server.mjs and cached per machine: a real OpenAI-compatible server that
 * nobody here wrote. Where it cannot be built (no cmake, no compiler) the tests that need it are
 * skipped with the reason printed, never silently.
 */
const script = fileURLToPath(new URL("../../scripts/build-llama-server.mjs", import.meta.url));

/** Cheap, at collection time: the binary's path, "build" when it can be built, or why it cannot. */
export function llamaServerAvailability(): { ok: true } | { ok: false; reason: string } {
  if (process.env.SEAPO_LLAMA_SERVER) return { ok: true };
  const check = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
  if (check.status === 0) return { ok: true };
  return { ok: false, reason: check.stderr.trim() || `build-llama-server --check exited ${check.status}` };
}

/** The binary: $SEAPO_LLAMA_SERVER, the cached build, or a fresh build (minutes, once per machine). */
export function llamaServerBinary(): string {
  if (process.env.SEAPO_LLAMA_SERVER) return process.env.SEAPO_LLAMA_SERVER;
  const started = Date.now();
  const build = spawnSync(process.execPath, [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (build.status !== 0) throw new Error(`scripts/build-llama-server.mjs failed (exit ${build.status})`);
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 5) console.warn(`llama-server built in ${seconds.toFixed(0)} s (cached for the next run)`);
  return build.stdout.trim().split("\n").at(-1)!;
}

export interface LlamaServer {
  baseURL: string;
  /** Everything the server printed, for a failing test's message. */
  log(): string;
  close(): Promise<void>;
}

/** Serves `gguf` on 127.0.0.1 at a free port and waits until /health answers 200. */
export async function startLlamaServer(gguf: string, extraArgs: string[] = []): Promise<LlamaServer> {
  const port = await freePort();
  const args = ["-m", gguf, "--host", "127.0.0.1", "--port", String(port), "--no-webui", "-t", "2", ...extraArgs];
  const child = spawn(llamaServerBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child, () => output);
  return {
    baseURL: `${url}/v1`,
    log: () => output,
    close: () => stop(child),
  };
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`llama-server exited ${child.exitCode}:\n${output().slice(-2000)}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop(child);
  throw new Error(`llama-server did not become healthy in 60 s:\n${output().slice(-2000)}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
