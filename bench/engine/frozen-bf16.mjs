// Memory of LoRA DPO on the 34M Llama read from a bf16 weights file, with the frozen base weights held
// as bf16 bits (SEAPO_FROZEN_BF16=1) against f32 (SEAPO_FROZEN_BF16=0, the default). Each side runs in
// its own process, so its peak RSS is its own. Needs `npm run build` and the native kernels.
//
//   node bench/engine/frozen-bf16.mjs [--steps N]
// glibc keeps freed 2 MiB blocks in its heap (its mmap threshold rises after the first free), so RSS after
// load shows the saving only with MALLOC_MMAP_THRESHOLD_=131072; ArrayBuffers shows it either way.
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchLlamaConfig, runJson } from "../common.mjs";
import { makeStep } from "./steps.mjs";

const MODEL = { vocabSize: 32000, hiddenSize: 512, intermediateSize: 1024, numLayers: 8, numHeads: 8, numKvHeads: 2 };
const [BATCH, SEQ] = [4, 256];
const MiB = 2 ** 20;

async function worker(dir, steps) {
  const engine = await import("../../dist/engine/index.js");
  engine.setBackend("native");
  const config = benchLlamaConfig(MODEL);
  const rssAtStart = process.memoryUsage().rss;
  const weights = await engine.readWeights(await engine.readWeightsIndex(dir));
  const model = engine.LlamaModel.fromWeights(config, weights, { trainable: false });
  // The model holds what it needs. A caller that keeps the map (or the HfModel from loadHfModel) keeps
  // the f32 arrays of the bf16-held weights alive, and saves nothing.
  weights.clear();
  const rng = new engine.Rng(0);
  const ids = Array.from({ length: BATCH }, () => Array.from({ length: SEQ + 1 }, () => rng.int(config.vocabSize)));
  const step = makeStep(engine, "lora-dpo", model, ids, true);
  const linears = model.layers.flatMap(({ self_attn: a, mlp: m }) =>
    [a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj, m.down_proj].map((l) => l.base ?? l),
  );
  const baseBytes = linears.reduce((sum, l) => sum + (l.bf16Weight?.bits.byteLength ?? l.weight.data.byteLength), 0);
  globalThis.gc?.();
  const { rss: rssAfterLoad, arrayBuffers } = process.memoryUsage();
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  const stepMs = (performance.now() - started) / steps;
  globalThis.gc?.();
  const rssAfterSteps = process.memoryUsage().rss;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ baseBytes, arrayBuffers, rssAtStart, rssAfterLoad, rssAfterSteps, peakRss, stepMs }));
}

async function main() {
  const i = process.argv.indexOf("--steps");
  const steps = i >= 0 ? Number(process.argv[i + 1]) : 3;
  const engine = await import("../../dist/engine/index.js");
  const dir = await mkdtemp(join(tmpdir(), "seapo-bench-bf16-"));
  try {
    const config = benchLlamaConfig(MODEL);
    await engine.writeSafetensors(join(dir, "model.safetensors"), engine.randomWeights(config, 0), { dtype: "BF16" });
    console.log(
      `34M Llama (d 512, 8 layers, ffn 1024, vocab 32000, tied), bf16 file; LoRA DPO r 8, B ${BATCH} × T ${SEQ}, ${steps} steps`,
    );
    console.log(
      `load average before: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
    const script = fileURLToPath(import.meta.url);
    for (const keep of ["0", "1"]) {
      const r = runJson(process.execPath, ["--expose-gc", script, "--worker", dir, String(steps)], {
        SEAPO_FROZEN_BF16: keep,
      });
      if (r.error) throw new Error(`SEAPO_FROZEN_BF16=${keep}: ${r.error}`);
      const mib = (x) => (x / MiB).toFixed(1);
      console.log(
        `SEAPO_FROZEN_BF16=${keep}: frozen base ${mib(r.baseBytes)} MiB, ArrayBuffers ${mib(r.arrayBuffers)} MiB; RSS after load ${mib(r.rssAfterLoad)} MiB, ` +
          `after the steps ${mib(r.rssAfterSteps)} MiB, peak ${mib(r.peakRss)} MiB; ${r.stepMs.toFixed(0)} ms/step`,
      );
    }
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--worker") await worker(process.argv[3], Number(process.argv[4]));
else await main();
