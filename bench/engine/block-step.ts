/**
 * One transformer block step (forward + backward) on the engine, the shape NOTES.md uses:
 * d=256, 4 heads, T=128, B=8 (≈5.2 GFLOP with a 4·d MLP; here SwiGLU with I=683 ≈ the same).
 *   npx vite-node bench/engine/block-step.ts            # backend from SEAPO_BACKEND, default native→ts
 *   SEAPO_BACKEND=ts npx vite-node bench/engine/block-step.ts
 */
import { backend } from "../../src/engine/backend.js";
import { LlamaModel, expectedShapes } from "../../src/engine/models/llama.js";
import type { ModelConfig, WeightMap } from "../../src/engine/models/config.js";
import { crossEntropy } from "../../src/engine/nn/functional.js";
import { Rng } from "../../src/engine/random.js";
import { noGrad } from "../../src/engine/tensor.js";

const B = Number(process.env.B ?? 8);
const T = Number(process.env.T ?? 128);
const d = 256;
const config: ModelConfig = {
  architecture: "llama",
  vocabSize: 256,
  hiddenSize: d,
  intermediateSize: 683,
  numLayers: 1,
  numHeads: 4,
  numKvHeads: 4,
  headDim: 64,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  attentionBias: false,
  maxPositionEmbeddings: 2048,
};

const rng = new Rng(0);
const weights: WeightMap = new Map();
for (const [name, shape] of expectedShapes(config)) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = name.endsWith("norm.weight") ? 1 : 0.02 * rng.normal();
  weights.set(name, { shape, data });
}
const model = LlamaModel.fromWeights(config, weights, { trainable: true });
const ids = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => rng.int(config.vocabSize)));
const inputs = ids.map((row) => row.slice(0, -1));
const targets = ids.map((row) => row.slice(1));

// FLOPs of the block's matmuls (the embedding and the tiny lm_head are left out).
const I = config.intermediateSize;
const forwardFlops = 2 * B * T * (4 * d * d + 3 * d * I) + 2 * 2 * B * T * T * d;

function time(label: string, fn: () => void, flops: number, reps = 3): void {
  fn();
  const start = performance.now();
  for (let r = 0; r < reps; r++) fn();
  const ms = (performance.now() - start) / reps;
  console.log(`${label.padEnd(18)} ${ms.toFixed(1).padStart(8)} ms  ${(flops / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s (block matmuls)`);
}

console.log(`backend ${backend().name}; B=${B} T=${T} d=${d} heads=4 I=${I}; ${(3 * forwardFlops / 1e9).toFixed(2)} GFLOP per step`);
time("forward", () => noGrad(() => void model.forward(inputs)), forwardFlops);
time("forward+backward", () => {
  for (const p of model.namedParameters().values()) p.grad = null;
  crossEntropy(model.forward(inputs), targets).backward();
}, 3 * forwardFlops);
