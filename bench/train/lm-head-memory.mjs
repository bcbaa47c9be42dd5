// Memory of the training log-prob path at a real vocabulary, before and after the fused lm_head.
//
//   npm run build && node bench/train/lm-head-memory.mjs            # layers 1, 3 repeats
//   node bench/train/lm-head-memory.mjs --layers 2 --repeats 2
//
// One policy forward + backward of a LoRA DPO batch (4 sequences of 512 tokens: prompt 128 +
// completion 384) on a Qwen2.5-0.5B-width model (d 896, 14 heads / 2 kv heads, ffn 4864, vocab
// 151,936, tied), cut to a few layers so the lm_head dominates, in two ways:
//   unfused  model.forward → sequenceLogprobs: [B, T, V] logits, their log-softmax, the gather, and in
//            backward the [B, T, V] gradients (the path before the fused op)
//   fused    scorePositions: the lm_head fused with log-softmax and gather, in chunks, completion rows only
// Each way runs in its own process (peak RSS is the process's), and prints the peak RSS, the RSS after
// the model is built, and the median time of a forward + backward.
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { loadavg } from "node:os";
import { runJson } from "../common.mjs";
import { benchLlamaConfig } from "../common.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "..", "dist");
const SHAPE = { vocabSize: 151936, hiddenSize: 896, intermediateSize: 4864, numHeads: 14, numKvHeads: 2 };
const PROMPT = 128;
const COMPLETION = 384;
const SEQUENCES = 4;

async function worker(mode, layers, repeats) {
  const engine = await import(join(dist, "engine/index.js"));
  const io = await import(join(dist, "engine/io/index.js"));
  engine.setBackend("native");
  const config = benchLlamaConfig({ ...SHAPE, numLayers: layers }, { architecture: "qwen2", attentionBias: true });
  const model = engine.LlamaModel.fromWeights(config, io.randomWeights(config, 0));
  model.applyLora({ rank: 8, alpha: 16, seed: 1 });
  const rng = new engine.Rng(3);
  const T = PROMPT + COMPLETION - 1;
  const ids = Array.from({ length: SEQUENCES }, () => Array.from({ length: T + 1 }, () => rng.int(SHAPE.vocabSize)));
  const inputs = ids.map((s) => s.slice(0, -1));
  const targets = ids.map((s) => s.slice(1));
  const scored = ids.map(() => Array.from({ length: T }, (_, t) => (t >= PROMPT - 1 ? 1 : 0)));
  const baseRssMiB = process.memoryUsage().rss / 2 ** 20;
  const times = [];
  let value;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const logps =
      mode === "fused"
        ? engine.scorePositions(model, inputs, { targets, scored, stats: true }).logps
        : engine.sequenceLogprobs(model.forward(inputs), targets, scored);
    const loss = engine.ops.sum(logps);
    loss.backward();
    times.push(performance.now() - start);
    value = loss.item();
    for (const p of model.trainableParameters().values()) p.grad = null;
  }
  times.sort((a, b) => a - b);
  return { mode, value, baseRssMiB, peakRssMiB: process.resourceUsage().maxRSS / 1024, ms: times[times.length >> 1] };
}

function option(argv, flag, fallback) {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

async function main() {
  const argv = process.argv.slice(2);
  const layers = option(argv, "--layers", 1);
  const repeats = option(argv, "--repeats", 3);
  console.log(
    `lm_head memory: LoRA policy forward + backward, ${SEQUENCES} sequences × ${PROMPT + COMPLETION} tokens ` +
      `(completion ${COMPLETION}), d ${SHAPE.hiddenSize}, vocab ${SHAPE.vocabSize}, ${layers} layer(s); load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
  );
  const results = {};
  for (const mode of ["unfused", "fused"]) {
    const r = runJson(
      process.execPath,
      [fileURLToPath(import.meta.url), "--worker", mode, String(layers), String(repeats)],
      {},
    );
    results[mode] = r;
    if (r.error) console.log(`  ${mode.padEnd(8)} failed: ${r.error}`);
    else
      console.log(
        `  ${mode.padEnd(8)} peak RSS ${r.peakRssMiB.toFixed(0)} MiB (model built: ${r.baseRssMiB.toFixed(0)} MiB; ` +
          `+${(r.peakRssMiB - r.baseRssMiB).toFixed(0)} MiB)  ${r.ms.toFixed(0)} ms per forward + backward  Σ log p ${r.value.toFixed(3)}`,
      );
  }
  const { unfused, fused } = results;
  if (!unfused.error && !fused.error)
    console.log(
      `  fused ÷ unfused: peak RSS ${(fused.peakRssMiB / unfused.peakRssMiB).toFixed(2)}, time ${(fused.ms / unfused.ms).toFixed(2)}; ` +
        `Σ log p differs by ${Math.abs(fused.value - unfused.value).toExponential(2)}; load after ${loadavg()[0].toFixed(2)}`,
    );
}

if (process.argv[2] === "--worker") {
  const [mode, layers, repeats] = process.argv.slice(3);
  console.log(JSON.stringify(await worker(mode, Number(layers), Number(repeats))));
} else {
  await main();
}
