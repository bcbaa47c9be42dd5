import { spawnSync } from "node:child_process";

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
    return { error: (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n") };
  return JSON.parse(line);
}
