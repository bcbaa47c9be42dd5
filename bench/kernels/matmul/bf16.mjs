#!/usr/bin/env node
// bf16 GEMM benchmark on the 34M Llama's base-weight products (d 512, kv 128, ffn 1024, 2 × 256 tokens):
// GFLOP/s of the f32 GEMM, of gemmBf16 with the weight widened to f32 (bf16 storage, f32 arithmetic)
// and of gemmBf16 with bf16Dot (A rounded to bf16; vdpbf16ps on "avx512-bf16", an f32 emulation on the
// other variants, shown for completeness), for every variant this CPU runs, with the machine's load.
//
//   node bench/kernels/matmul/bf16.mjs [--quick]          (SEAPO_NATIVE_ISA=avx2 for that variant alone)
//
// Needs build/Release/seapo_native.node (node scripts/build-native.mjs).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const quick = process.argv.includes("--quick");
const native = createRequire(import.meta.url)(join(root, "build", "Release", "seapo_native.node"));
const budget = quick ? 0.2 : 0.6;

function fill(length, seed, scale = 1) {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** bf16 bits, rounded to nearest even. */
function toBf16(x) {
  const words = new Uint32Array(x.buffer, x.byteOffset, x.length);
  return Uint16Array.from(words, (u) => ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff);
}

function best(fn) {
  fn();
  let fastest = Infinity;
  for (let spent = 0, calls = 0; calls < 3 || spent < budget; calls++) {
    const start = process.hrtime.bigint();
    fn();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    fastest = Math.min(fastest, seconds);
    spent += seconds;
  }
  return fastest;
}

const shapes = [
  { name: "q/o  x·Wᵀ  512×512 · (512×512)ᵀ", m: 512, n: 512, k: 512, transB: true },
  { name: "k/v  x·Wᵀ  512×512 · (128×512)ᵀ", m: 512, n: 128, k: 512, transB: true },
  { name: "gate/up x·Wᵀ 512×512 · (1024×512)ᵀ", m: 512, n: 1024, k: 512, transB: true },
  { name: "down x·Wᵀ  512×1024 · (512×1024)ᵀ", m: 512, n: 512, k: 1024, transB: true },
  { name: "gate/up dY·W 512×1024 · 1024×512", m: 512, n: 512, k: 1024 },
];

const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
console.log(`seapo bf16 GEMM — ${native.threads} threads, ${cpu}; runnable variants: ${native.variants.join(", ")}`);
console.log(`load average before: ${load()}`);
const header = ["variant", "shape", "f32", "bf16 widened", "bf16Dot", "bf16Dot/f32"];
const rows = [];
// SEAPO_NATIVE_ISA=<variant> times that variant alone.
const forced = process.env.SEAPO_NATIVE_ISA && process.env.SEAPO_NATIVE_ISA !== "auto";
const chosen = native.variant;
for (const variant of forced ? [chosen] : native.variants) {
  native.useVariant(variant);
  for (const s of shapes) {
    const a = fill(s.m * s.k, 1);
    const w = fill(s.k * s.n, 2, 0.05);
    const w16 = toBf16(w);
    const c = new Float32Array(s.m * s.n);
    const rate = (seconds) => (2 * s.m * s.n * s.k) / seconds / 1e9;
    const f32 = rate(best(() => native.gemm(a, w, c, s)));
    const widened = rate(best(() => native.gemmBf16(a, w16, c, s)));
    const dot = rate(best(() => native.gemmBf16(a, w16, c, { ...s, bf16Dot: true })));
    const tag = variant + (native.bf16Native ? " (vdpbf16ps)" : "");
    rows.push([tag, s.name, f32.toFixed(1), widened.toFixed(1), dot.toFixed(1), (dot / f32).toFixed(2)]);
  }
}
native.useVariant(chosen);
const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col].length)));
for (const row of [header, ...rows]) {
  console.log(row.map((cell, col) => (col < 2 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join("  "));
}
console.log(`GFLOP/s, best of repeated calls; load average after: ${load()}`);
