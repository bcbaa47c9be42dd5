// Benchmark: one training step (forward + backward, no optimizer) of the seapo engine against the same
// model in PyTorch CPU at the same thread count, plus the raw GEMM speed of both against the CPU's peak.
//
//   npm run build && node bench/engine/run.mjs            # both configurations
//   node bench/engine/run.mjs block                       # one of them: block | llama30m
//   BENCH_SECONDS=20 SEAPO_THREADS=2 node bench/engine/run.mjs
//
// Configurations
//   block     one Llama-style block (RMSNorm, RoPE attention, SwiGLU; seapo has no GPT-2 block, and this is
//             the shape NOTES.md uses for "one GPT block"): d=256, 4 heads, ffn 683, vocab 256 tied, T=128, B=8
//   llama30m  d=512, 8 layers, 8 heads / 2 kv heads, ffn 1024, vocab 32000 tied (~34M parameters), T=256, B=2
//   lora-dpo  the same model, one LoRA DPO step (steps.mjs): 2 pairs = 4 sequences of 256 (prompt 64), rank 8
// (B is overridable with BENCH_B, the time per configuration with BENCH_SECONDS.)
//
// Each configuration runs twice on the seapo side, in the same run: without the buffer pool (SEAPO_POOL=0,
// as before it existed) and with it (the step in a recycling scope that releases the tape in backward).
// Each row also gives V8's GC time as a share of step time (PerformanceObserver "gc" entries over the
// timed steps), the GFLOP/s as a share of the engine's own GEMM on the MLP shape, the load average when
// the row ran, and the biggest hooks of a per-hook time breakdown (two extra steps, timed separately).
//
// Each side runs in its own process (this file with --worker, bench/engine/torch_reference.py under a
// python3 that imports torch), so each peak RSS belongs to one configuration alone. When no python3
// imports torch, Debian's python3-torch is installed once with apt-get (and OpenBLAS with it), as
// bench/train does; PyTorch then runs on OpenBLAS where it is installed. FLOPs are counted
// the same way for both: 2·tokens·(weights of every matmul, lm_head included) + 4·B·T²·d per layer for
// attention (the full T×T product, causal masking not subtracted), times 3 for forward + backward. For
// lora-dpo, whose base weights are frozen (no weight gradients): weights × 3 (policy forward, input
// gradients, reference forward) and attention × 4 (its backward has two products); adapters not counted.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchLlamaConfig, runJson } from "../common.mjs";
import { torchBlasEnv, torchPython } from "../train/torch-python.mjs";
import { gcMeter, makeStep, profileBackend, PROMPT, tick } from "./steps.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const batchOverride = process.env.BENCH_B === undefined ? undefined : Number(process.env.BENCH_B);

const CONFIGS = {
  block: {
    model: { vocabSize: 256, hiddenSize: 256, intermediateSize: 683, numLayers: 1, numHeads: 4, numKvHeads: 4 },
    batch: batchOverride ?? 8,
    seq: 128,
    kind: "ce",
  },
  llama30m: {
    model: { vocabSize: 32000, hiddenSize: 512, intermediateSize: 1024, numLayers: 8, numHeads: 8, numKvHeads: 2 },
    batch: batchOverride ?? 2,
    seq: 256,
    kind: "ce",
  },
  "lora-dpo": {
    model: { vocabSize: 32000, hiddenSize: 512, intermediateSize: 1024, numLayers: 8, numHeads: 8, numKvHeads: 2 },
    batch: 4,
    seq: 256,
    kind: "lora-dpo",
  },
};

/** Parameters (tied embeddings) and FLOPs of one forward + backward step, as described above. */
function countWork({ model: m, batch, seq, kind }) {
  const d = m.hiddenSize;
  const kv = (d / m.numHeads) * m.numKvHeads;
  const perLayerMatmul = d * d * 2 + d * kv * 2 + 3 * d * m.intermediateSize;
  const parameters = m.vocabSize * d + m.numLayers * (perLayerMatmul + 2 * d) + d;
  const tokens = batch * seq;
  const weights = 2 * tokens * (m.numLayers * perLayerMatmul + m.vocabSize * d);
  const attention = m.numLayers * 4 * batch * seq * seq * d;
  return { parameters, tokens, flops: kind === "lora-dpo" ? 3 * weights + 4 * attention : 3 * (weights + attention) };
}

/** Peak fp32 FLOP/s of `threads` cores: cores × clock × FLOP per cycle of the widest FMA the CPU reports. */
function cpuPeak(threads) {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const field = (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim() ?? "";
  const flags = new Set(field("flags").split(/\s+/));
  const amd = field("vendor_id") === "AuthenticAMD";
  const family = Number(field("cpu family"));
  const mhz = Number(field("cpu MHz"));
  let perCycle;
  let isa;
  if (flags.has("avx512f")) {
    // Two 512-bit FMA pipes on server Intel parts; Zen 4 (family 25) runs 512-bit FMAs on its two 256-bit pipes.
    isa = "AVX-512 FMA";
    perCycle = amd ? 32 : 64;
  } else if (flags.has("avx2") && flags.has("fma")) {
    isa = "AVX2 FMA (2 × 256-bit FMA pipes)";
    perCycle = 32;
  } else {
    isa = "SSE (no FMA)";
    perCycle = 8;
  }
  return {
    flops: threads * mhz * 1e6 * perCycle,
    how: `${threads} cores × ${(mhz / 1000).toFixed(2)} GHz (/proc/cpuinfo, base clock; boost may be higher) × ${perCycle} FLOP/cycle (${isa}${amd ? `, AMD family ${family}` : ""})`,
  };
}

async function worker(name) {
  const engine = await import("../../dist/engine/index.js");
  const { loadNativeKernels, nativeLoadError } = await import("../../dist/engine/native/index.js");
  const kernels = loadNativeKernels();
  if (!kernels)
    throw new Error(`the native kernels are not built (${nativeLoadError()}); run node scripts/build-native.mjs`);
  engine.setBackend("native");

  const { model: m, batch, seq } = CONFIGS[name];
  const config = benchLlamaConfig(m);
  const rng = new engine.Rng(0);
  const weights = new Map();
  for (const [key, shape] of engine.expectedShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = key.endsWith("norm.weight") ? 1 : 0.02 * rng.normal();
    weights.set(key, { shape, data });
  }
  const { kind } = CONFIGS[name];
  const model = engine.LlamaModel.fromWeights(config, weights, { trainable: kind === "ce" });
  const ids = Array.from({ length: batch }, () => Array.from({ length: seq + 1 }, () => rng.int(config.vocabSize)));
  const pool = process.env.SEAPO_POOL !== "0";
  const step = makeStep(engine, kind, model, ids, pool);
  const gc = gcMeter();
  const timing = timeSteps(step, benchSeconds());
  await tick();
  const gcMs = gc.entries.filter((e) => e.startTime >= timing.timedFrom).reduce((sum, e) => sum + e.duration, 0);
  gc.stop();
  const profile = profileBackend(engine.backend());
  const profiledFrom = performance.now();
  for (let i = 0; i < 2; i++) step();
  const profiledMs = (performance.now() - profiledFrom) / 2;
  profile.restore();
  const hooks = Object.entries(profile.totals)
    .map(([hook, ms]) => ({ hook, share: ms / 2 / profiledMs }))
    .filter((h) => h.share > 0.005)
    .sort((x, y) => y.share - x.share);
  const gemm = gemmRates((mm, nn, kk) => {
    const a = Float32Array.from({ length: mm * kk }, () => Math.random());
    const b = Float32Array.from({ length: kk * nn }, () => Math.random());
    const c = new Float32Array(mm * nn);
    return () => kernels.gemm(a, b, c, { m: mm, n: nn, k: kk });
  }, gemmShapes(name));
  return {
    stepMs: timing.median,
    gcShare: gcMs / timing.timedMs,
    gcPerStepMs: gcMs / timing.timedSteps,
    hooks,
    pool: engine.poolStats(),
    gemm,
    threads: kernels.threads,
    isa: kernels.isa,
    variant: kernels.variant,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

const benchSeconds = () => Number(process.env.BENCH_SECONDS ?? 15);

/**
 * Median step time in ms: one warm-up step, then steps until `seconds` have passed (at least 3, at most a
 * minute); also when the timed steps began (performance.now()), their number and total ms.
 */
function timeSteps(step, seconds) {
  const times = [];
  let total = 0;
  let timedFrom = 0;
  while (times.length < 4 || (total < seconds * 1000 && times.length < 100)) {
    const start = performance.now();
    if (times.length === 1) timedFrom = start;
    step();
    times.push(performance.now() - start);
    total += times.at(-1);
    if (total > 60_000 && times.length >= 2) break;
  }
  const timed = times.slice(1).sort((a, b) => a - b);
  const timedMs = timed.reduce((a, b) => a + b, 0);
  return { median: timed[Math.floor(timed.length / 2)], timedFrom, timedSteps: timed.length, timedMs };
}

/** GEMM shapes: a square 1024³ and the configuration's MLP up-projection (B·T × d → ffn). */
function gemmShapes(name) {
  const { model: m, batch, seq } = CONFIGS[name];
  return [
    [1024, 1024, 1024],
    [batch * seq, m.intermediateSize, m.hiddenSize],
  ];
}

function gemmRates(prepare, shapes) {
  return shapes.map(([mm, nn, kk]) => {
    const run = prepare(mm, nn, kk);
    run();
    let reps = 0;
    const start = performance.now();
    while (performance.now() - start < 1000) {
      run();
      reps++;
    }
    const seconds = (performance.now() - start) / 1000;
    return { shape: `${mm}×${nn}×${kk}`, gflops: (2 * mm * nn * kk * reps) / seconds / 1e9 };
  });
}

const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits));

const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;

/** One side's row: step time, tokens/s, GFLOP/s (and its share of this side's own MLP-shape GEMM), GC share, RSS. */
function printRow(label, r, work, peak) {
  if (r.error) return console.log(`  ${label.padEnd(14)} failed: ${r.error}`);
  const tokensPerSecond = work.tokens / (r.stepMs / 1000);
  const gflops = work.flops / (r.stepMs / 1000) / 1e9;
  const mlpGemm = r.gemm.at(-1).gflops;
  const gc = r.gcShare === undefined ? "" : `  GC ${fmt(100 * r.gcShare)}% (${fmt(r.gcPerStepMs, 0)} ms/step)`;
  console.log(
    `  ${label.padEnd(14)} ${fmt(r.stepMs).padStart(8)} ms/step  ${fmt(tokensPerSecond, 0).padStart(6)} tokens/s  ` +
      `${fmt(gflops).padStart(6)} GFLOP/s = ${fmt((100 * gflops) / mlpGemm, 0)}% of its GEMM${gc}  peak RSS ${fmt(r.peakRssMiB, 0)} MiB  (${r.load})`,
  );
  const gemm = r.gemm
    .map((g) => `${g.shape} ${fmt(g.gflops)} (${fmt((100 * g.gflops * 1e9) / peak.flops, 0)}% of peak)`)
    .join(", ");
  const outside = r.hooks ? 1 - r.hooks.reduce((sum, h) => sum + h.share, 0) : 0;
  const hooks = r.hooks
    ? `; time by hook: ${r.hooks.map((h) => `${h.hook} ${fmt(100 * h.share, 0)}%`).join(", ")}, outside hooks (JS, GC) ${fmt(100 * outside, 0)}%`
    : "";
  console.log(`  ${"".padEnd(14)} GEMM GFLOP/s ${gemm}${hooks}`);
}

function printTorchInfo(torch, blas) {
  if (torch.error) return;
  console.log(`  pytorch ${torch.version}: ${torch.threads} threads, BLAS ${torch.blas} (${blas.how})`);
  if (torch.referenceBlas) {
    console.log(
      "  CAUTION: PyTorch is running on the reference (netlib) BLAS, which is not optimised; the ratio above flatters seapo.\n" +
        "           For a fair comparison give it OpenBLAS: apt-get install libopenblas0-pthread (switches libblas.so.3), or\n" +
        "           LD_LIBRARY_PATH=<dir holding an OpenBLAS libblas.so.3> node bench/engine/run.mjs (the environment passes through).",
    );
  }
}

/** Runs the seapo worker with the pool off then on, and PyTorch; each row carries the load average it ran under. */
function runSides(name, torchSide, blas) {
  const sides = {};
  for (const [label, pool] of [
    ["seapo no pool", "0"],
    ["seapo pool", "1"],
  ]) {
    const loadBefore = load();
    sides[label] = runJson(process.execPath, [fileURLToPath(import.meta.url), "--worker", name], { SEAPO_POOL: pool });
    sides[label].load = loadBefore;
  }
  const seapo = sides["seapo pool"];
  if (seapo.error) return sides;
  const { model: m } = CONFIGS[name];
  const job = {
    ...CONFIGS[name],
    model: benchLlamaConfig(m),
    gemm: gemmShapes(name),
    threads: seapo.threads,
    seconds: benchSeconds(),
    prompt: PROMPT,
  };
  const loadBefore = load();
  sides.pytorch = torchSide.python
    ? runJson(torchSide.python, [join(here, "torch_reference.py"), JSON.stringify(job)], blas.env)
    : { error: torchSide.note };
  sides.pytorch.load = loadBefore;
  return sides;
}

function report(names) {
  console.log(`seapo engine benchmark: one training step (forward + backward; lora-dpo also AdamW), fp32 on CPU`);
  console.log(`note: shared machines are noisy; expect ±15% between runs\n`);
  let peak;
  const torchSide = torchPython();
  const blas = torchBlasEnv();
  if (torchSide.note) console.log(`${torchSide.note}: the PyTorch rows are skipped\n`);
  for (const name of names) {
    const work = countWork(CONFIGS[name]);
    const { model: m, batch, seq } = CONFIGS[name];
    const sides = runSides(name, torchSide, blas);
    const seapo = sides["seapo pool"];
    if (seapo.error) {
      console.log(`${name}: seapo failed: ${seapo.error}`);
      continue;
    }
    peak ??= cpuPeak(seapo.threads);
    console.log(
      `== ${name}: d=${m.hiddenSize}, ${m.numLayers} layer(s), ${m.numHeads} heads/${m.numKvHeads} kv, ffn ${m.intermediateSize}, vocab ${m.vocabSize}, ` +
        `T=${seq}, B=${batch}; ${(work.parameters / 1e6).toFixed(1)}M parameters, ${(work.flops / 1e9).toFixed(1)} GFLOP per step`,
    );
    for (const [label, r] of Object.entries(sides)) printRow(label, r, work, peak);
    for (const label of ["seapo no pool", "seapo pool"]) {
      const r = sides[label];
      if (!sides.pytorch.error && !r.error)
        console.log(
          `  ratio    ${label} ÷ PyTorch: tokens/s ${fmt(sides.pytorch.stepMs / r.stepMs, 2)}, peak RSS ${fmt(r.peakRssMiB / sides.pytorch.peakRssMiB, 2)}`,
        );
    }
    console.log(`  seapo: native kernels ${seapo.variant} (${seapo.isa}), ${seapo.threads} threads`);
    printTorchInfo(sides.pytorch, blas);
    console.log();
  }
  if (peak) console.log(`peak estimate ${fmt(peak.flops / 1e9)} GFLOP/s = ${peak.how}`);
}

if (process.argv[2] === "--worker") {
  console.log(JSON.stringify(await worker(process.argv[3])));
} else {
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(CONFIGS);
  for (const name of names)
    if (!(name in CONFIGS))
      throw new Error(`unknown configuration "${name}"; choose from ${Object.keys(CONFIGS).join(", ")}`);
  report(names);
}
