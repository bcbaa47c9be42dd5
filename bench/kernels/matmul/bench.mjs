#!/usr/bin/env node
// GEMM benchmark for the native addon: validation against the TypeScript backend, then GFLOP/s of
// the native kernels beside PyTorch CPU measured in the same run, with the same thread count.
//
//   node bench/kernels/matmul/bench.mjs [--quick] [--no-torch]
//   SEAPO_NATIVE_ISA=avx2 node bench/kernels/matmul/bench.mjs     (times the AVX2 kernels on any x86-64)
//
// Needs build/Release/seapo_native.node (node scripts/build-native.mjs). PyTorch comes from Debian's
// python3-torch; when `import torch` fails the bench tries `apt-get install -y python3-torch` once.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");

const addonPath = join(root, "build", "Release", "seapo_native.node");
let native;
try {
  native = createRequire(import.meta.url)(addonPath);
} catch (error) {
  console.error(`cannot load ${addonPath}: ${error.message}\nbuild it with: node scripts/build-native.mjs`);
  process.exit(1);
}

// The reference is the TypeScript backend's gemm, from the build (npm run build).
async function loadReference() {
  const path = join(root, "dist", "engine", "backends", "ts-gemm.js");
  try {
    const { tsGemm } = await import(path);
    return { gemm: tsGemm };
  } catch (error) {
    console.error(`cannot load ${path}: ${error.message}\nbuild it with: npm run build`);
    process.exit(1);
  }
}

/** Deterministic values in [-1, 1). */
function fill(length, seed) {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** Best seconds per call over repeated calls filling about `budget` seconds (min of runs resists noise). */
function time(fn, budget) {
  fn();
  let best = Infinity;
  let spent = 0;
  let calls = 0;
  while (calls < 3 || spent < budget) {
    const start = process.hrtime.bigint();
    fn();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.min(best, seconds);
    spent += seconds;
    calls++;
  }
  return best;
}

const gflops = (s, seconds) => (2 * (s.batch ?? 1) * s.m * s.n * s.k) / seconds / 1e9;

function operands(s) {
  const batch = s.batch ?? 1;
  return { a: fill(batch * s.m * s.k, 1), b: fill(batch * s.k * s.n, 2), c: new Float32Array(batch * s.m * s.n) };
}

const shapes = [
  { name: "256³", m: 256, n: 256, k: 256 },
  { name: "512³", m: 512, n: 512, k: 512 },
  { name: "1024³", m: 1024, n: 1024, k: 1024 },
  { name: "2048³", m: 2048, n: 2048, k: 2048 },
  { name: "x·W     1024×256 · 256×768", m: 1024, n: 768, k: 256 },
  { name: "dY·Wᵀ   1024×768 · (256×768)ᵀ", m: 1024, n: 256, k: 768, transB: true },
  { name: "Xᵀ·dY   (1024×256)ᵀ · 1024×768", m: 256, n: 768, k: 1024, transA: true },
  { name: "Q·Kᵀ    32 × 128×64 · (128×64)ᵀ", m: 128, n: 128, k: 64, transB: true, batch: 32 },
  { name: "P·V     32 × 128×128 · 128×64", m: 128, n: 64, k: 128, batch: 32 },
].filter((s) => !quick || (s.batch ?? 1) * s.m * s.n * s.k <= 2 ** 28);
const budget = quick ? 0.3 : 1.0;

// ---- validation --------------------------------------------------------------------------------
// The variant timed below: the addon's choice at load (SEAPO_NATIVE_ISA=avx2 forces one, see docs/engine.md).
const chosen = native.variant;
const reference = await loadReference();
let validation = "ok";
for (const variant of native.variants) {
  native.useVariant(variant);
  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ]) {
    const s = { m: 67, n: 45, k: 300, transA, transB, alpha: 1.5, beta: 0.5 };
    const { a, b } = operands(s);
    const c0 = fill(s.m * s.n, 3);
    const got = c0.slice();
    const want = c0.slice();
    native.gemm(a, b, got, s);
    reference.gemm(a, b, want, s);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
    if (!(worst < 1e-4))
      validation = `FAILED (${variant}, transA=${transA}, transB=${transB}: relative error ${worst})`;
  }
}
native.useVariant(chosen);

// ---- PyTorch -----------------------------------------------------------------------------------
const torchScript = `
import json, sys, time, torch
torch.set_num_threads(${native.threads})
out = {"python": sys.executable, "version": torch.__version__, "threads": torch.get_num_threads(), "results": []}
for s in json.loads(sys.argv[1]):
    batch = [s["batch"]] if "batch" in s else []
    a = torch.rand(*batch, s["k"], s["m"]) if s.get("transA") else torch.rand(*batch, s["m"], s["k"])
    b = torch.rand(*batch, s["n"], s["k"]) if s.get("transB") else torch.rand(*batch, s["k"], s["n"])
    a = a.transpose(-1, -2) if s.get("transA") else a
    b = b.transpose(-1, -2) if s.get("transB") else b
    c = torch.empty(*batch, s["m"], s["n"])
    torch.matmul(a, b, out=c)
    best, spent, calls = float("inf"), 0.0, 0
    while calls < 3 or spent < ${budget}:
        t = time.perf_counter(); torch.matmul(a, b, out=c); d = time.perf_counter() - t
        best, spent, calls = min(best, d), spent + d, calls + 1
    out["results"].append(best)
# The BLAS actually mapped into this process: Debian's torch calls whatever libblas.so.3 points at.
out["blas"] = sorted({l.split()[-1] for l in open("/proc/self/maps") if ("blas" in l or "mkl" in l) and "/" in l})
print(json.dumps(out))
`;

// A pyenv or venv python3 may shadow Debian's, which is where python3-torch installs.
const pythons = ["python3", "/usr/bin/python3"];
const findTorchPython = () =>
  pythons.find((py) => spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0);

function measureTorch() {
  if (args.has("--no-torch")) return { note: "PyTorch skipped (--no-torch)" };
  let python = findTorchPython();
  if (python === undefined) {
    console.log("PyTorch is not importable; trying `apt-get install -y python3-torch` once…");
    const apt = spawnSync("apt-get", ["install", "-y", "-q", "python3-torch"], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (apt.status !== 0) {
      const why = apt.error?.message ?? (apt.stderr ?? "").split("\n").find((line) => line.startsWith("E:"));
      return { note: `PyTorch unavailable: apt-get install python3-torch failed (${why ?? `exit ${apt.status}`})` };
    }
    python = findTorchPython();
    if (python === undefined)
      return { note: `PyTorch unavailable: installed, but none of ${pythons.join(", ")} imports torch` };
  }
  const run = spawnSync(python, ["-c", torchScript, JSON.stringify(shapes)], { encoding: "utf8" });
  if (run.status !== 0) return { note: `PyTorch run failed: ${run.stderr.trim().split("\n").pop()}` };
  return JSON.parse(run.stdout);
}

// ---- timing ------------------------------------------------------------------------------------
const nativeSeconds = shapes.map((s) => {
  const { a, b, c } = operands(s);
  return time(() => native.gemm(a, b, c, s), budget);
});
const torch = measureTorch();

const variantShape = { m: 512, n: 512, k: 512 };
const variantRates = native.variants.map((variant) => {
  native.useVariant(variant);
  const { a, b, c } = operands(variantShape);
  const rate = gflops(
    variantShape,
    time(() => native.gemm(a, b, c, variantShape), budget / 2),
  );
  return `${variant} ${rate.toFixed(1)}`;
});
native.useVariant(chosen);

const refShape = { m: 128, n: 128, k: 128 };
const refOperands = operands(refShape);
const refRate = gflops(
  refShape,
  time(() => reference.gemm(refOperands.a, refOperands.b, refOperands.c, refShape), budget / 2),
);

// ---- report ------------------------------------------------------------------------------------
const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
const how = process.env.SEAPO_NATIVE_ISA && process.env.SEAPO_NATIVE_ISA !== "auto" ? "SEAPO_NATIVE_ISA" : "auto";
console.log(
  `seapo native GEMM — variant ${native.variant} (${how}; isa ${native.isa}), ${native.threads} threads, ${cpu}`,
);
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} (a shared machine: compare ratios within one run)`,
);
console.log(`validation against the TS reference (67×45×300, all transposes, every variant): ${validation}`);
console.log(
  torch.note ??
    `PyTorch ${torch.version} (${torch.python}), ${torch.threads} threads, BLAS ${torch.blas.join(" + ") || "built in"}`,
);
if (torch.blas?.some((lib) => lib.includes("/blas/libblas.so"))) {
  console.log(
    "  caution: that is the netlib reference BLAS, so the torch column is not a fair baseline;\n" +
      "  `apt-get install libopenblas0-pthread` switches Debian's libblas.so.3 (and torch) to OpenBLAS.",
  );
}
console.log("");
const header = ["shape (m×k · k×n)", "native GFLOP/s", "torch GFLOP/s", "native/torch"];
const rows = shapes.map((s, i) => {
  const ours = gflops(s, nativeSeconds[i]);
  const theirs = torch.results ? gflops(s, torch.results[i]) : undefined;
  return [s.name, ours.toFixed(1), theirs?.toFixed(1) ?? "–", theirs ? (ours / theirs).toFixed(2) : "–"];
});
const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col].length)));
for (const row of [header, ...rows]) {
  console.log(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join("   "));
}
console.log("");
console.log(`variants at 512³ (GFLOP/s): ${variantRates.join(", ")}`);
console.log(`TS backend gemm at 128³: ${refRate.toFixed(2)} GFLOP/s`);
if (validation !== "ok") process.exitCode = 1;
