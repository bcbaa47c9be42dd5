// The engine's own GEMM on a training step's shapes (flops.mjs), timed in a process of its own at the
// benchmark's thread count, and the line that sets the step's achieved GFLOP/s against it.
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { runJson } from "../common.mjs";
import { gemmFlops, stepGemms } from "./flops.mjs";

const key = (g) => `${g.m}x${g.n}x${g.k}/${g.batch}/${g.transA ? "T" : "N"}${g.transB ? "T" : "N"}`;

/** Worker: GFLOP/s of each distinct shape (best of a few runs after one untimed). */
export async function timeGemms(dist, shapes) {
  const { loadNativeKernels } = await import(join(dist, "engine/native/index.js"));
  const kernels = loadNativeKernels();
  const rates = {};
  for (const g of shapes) {
    const a = new Float32Array(g.batch * g.m * g.k).map(() => Math.random() - 0.5);
    const b = new Float32Array(g.batch * g.k * g.n).map(() => Math.random() - 0.5);
    const c = new Float32Array(g.batch * g.m * g.n);
    const options = { m: g.m, n: g.n, k: g.k, transA: g.transA, transB: g.transB, batch: g.batch };
    kernels.gemm(a, b, c, options);
    let best = Infinity;
    for (let rep = 0, spent = 0; rep < 5 && (rep < 2 || spent < 500); rep++) {
      const start = performance.now();
      kernels.gemm(a, b, c, options);
      const ms = performance.now() - start;
      spent += ms;
      best = Math.min(best, ms);
    }
    rates[key(g)] = (2 * g.m * g.n * g.k * g.batch) / (best * 1e6);
  }
  return { rates, threads: kernels.threads };
}

/** Times the step's shapes in a child process; { flops, gemmRate, load } or { error }. */
export function measureGemmRate(run, finetuning, loss, chunkRows, script, env) {
  const gemms = stepGemms(run.prepared.config, run.setup, finetuning, loss, chunkRows);
  const distinct = [...new Map(gemms.map((g) => [key(g), g])).values()];
  const job = join(run.dir, `gemm-${finetuning}-${loss}.json`);
  writeFileSync(job, JSON.stringify(distinct));
  const load = loadavg()[0];
  const result = runJson(process.execPath, [script, "--gemm", job], env);
  if (result.error) return result;
  const flops = gemms.reduce((s, g) => s + gemmFlops(g), 0);
  // The step's GEMMs at their measured rates: the time they would take alone.
  const seconds = gemms.reduce((s, g) => s + gemmFlops(g) / (result.rates[key(g)] * 1e9), 0);
  return { flops, gemmRate: flops / seconds / 1e9, load: [load, loadavg()[0]] };
}

/** The line: step matmul FLOP, achieved GFLOP/s, GEMM GFLOP/s on the same shapes, their ratio. */
export function printFlopsLine(gemm, stepMs) {
  if (gemm.error) return console.log(`  gflops   GEMM timing failed: ${gemm.error}`);
  const achieved = gemm.flops / (stepMs / 1000) / 1e9;
  console.log(
    `  gflops   step ${(gemm.flops / 1e12).toFixed(2)} TFLOP of matmul in ${(stepMs / 1000).toFixed(1)} s = ${achieved.toFixed(0)} GFLOP/s; ` +
      `engine GEMM on the same shapes ${gemm.gemmRate.toFixed(0)} GFLOP/s (load ${gemm.load.map((l) => l.toFixed(1)).join("→")}); ` +
      `ratio ${(achieved / gemm.gemmRate).toFixed(2)} (goal ≥ 0.6)`,
  );
}
