import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

// What the engine and train benchmarks share: the Llama config both build around their model sizes
// and hand to the PyTorch references (so the two sides always describe the same model), and runJson.
export function benchLlamaConfig(model, extra = {}) {
  return {
    architecture: "llama",
    ...model,
    headDim: model.hiddenSize / model.numHeads,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
    attentionBias: false,
    maxPositionEmbeddings: 4096,
    ...extra,
  };
}

/**
 * Runs a benchmark side in its own process and parses the last stdout line as JSON; { error } with the
 * last lines of output when it fails or prints no JSON.
 */
export function runJson(command, args, env) {
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 1 << 26 });
  if (result.error) return { error: result.error.message };
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  if (result.status !== 0 || !line.startsWith("{"))
    return {
      error:
        (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n") ||
        `${command} ended by ${result.signal ?? `exit status ${result.status}`} with no output (SIGKILL: often out of memory)`,
    };
  return JSON.parse(line);
}

/** Starts bench/zero-latency-server.mjs with its arguments; resolves once it prints its port. */
export async function startZeroLatencyServer(args = []) {
  const script = new URL("./zero-latency-server.mjs", import.meta.url).pathname;
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve) => child.stdout.once("data", (d) => resolve(Number(String(d).trim()))));
  return { child, url: `http://127.0.0.1:${port}` };
}

/** `n` inject rows under `dir`, every one distinct so no request is answered by the cache. */
export function writeAppleRows(dir, n) {
  const path = join(dir, `rows-${n}.jsonl`);
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `q${i}`,
    prompt: `A shop sells ${i} apples on Monday and twice as many on Tuesday. How many apples in total?`,
    response: `On Tuesday it sells 2 × ${i} = ${2 * i} apples, so the total is ${i} + ${2 * i} = ${3 * i} apples.`,
  }));
  writeFileSync(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
  return path;
}
