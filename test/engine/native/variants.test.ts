/**
 * SEAPO_NATIVE_ISA: each kernel variant this CPU runs, forced in a child process (the choice is made
 * once, at load), runs a few ops and a LoRA training step of a small Llama; the results agree with the
 * TypeScript backend, and bit for bit where two variants share their arithmetic. A variant the CPU
 * cannot run and an unknown name are refused with a clear error. The children run the compiled
 * engine (`npm run build`), as the CLI tests do.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { describeNativeKernels, KERNEL_VARIANTS, type KernelVariant } from "../../../src/engine/native/index.js";
import { native } from "./helpers.js";

const workload = fileURLToPath(new URL("./fixtures/variant-workload.mjs", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../../../dist/engine/index.js", import.meta.url)));

interface Run {
  backend: string;
  variant: string | null;
  results: Record<string, string>;
}

function run(env: Record<string, string>): { run?: Run; stderr: string; status: number | null } {
  const child = spawnSync(process.execPath, [workload], {
    encoding: "utf8",
    env: { ...process.env, SEAPO_THREADS: "2", ...env },
  });
  const line = child.stdout.trim().split("\n").pop() ?? "";
  return { run: child.status === 0 ? (JSON.parse(line) as Run) : undefined, stderr: child.stderr, status: child.status };
}

const floats = (base64: string): Float32Array => {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

/** max |a − b| relative to max |b|: the ops' and gradients' float32 rounding grows with their scale. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return a.length === b.length ? diff / scale : Infinity;
}

// Tolerances against the ts backend, about 20× the errors measured on an AVX2 machine (ops ≤ 5e-7,
// LoRA gradients ≤ 3e-6, losses ≤ 4e-7). "lora_B after 2 steps" is compared bit for bit only: AdamW's
// first steps move each weight by about ±lr whatever the gradient's size, so rounding flips them.
const tolerance: Record<string, number | undefined> = { "lora_B gradient": 1e-4, "lora_B after 2 steps": undefined };

// Same source configuration (16-float vectors, 8×32 tile): every result is the same bits.
const sameConfig: KernelVariant[] = ["avx512-bf16", "avx512", "avx2-wide"];
// FMA variants with the same k blocking: the GEMMs give the same bits (the fused kernels' vector
// reductions differ with the vector width).
const fmaVariants: KernelVariant[] = ["avx512-bf16", "avx512", "avx2", "avx2-wide"];

describe.skipIf(native === undefined || !built)("SEAPO_NATIVE_ISA forces a kernel variant", () => {
  const k = native!;
  const reference = run({ SEAPO_BACKEND: "ts" });
  const runs = new Map(k.variants.map((v) => [v, run({ SEAPO_BACKEND: "native", SEAPO_NATIVE_ISA: v })]));

  it("the ts reference ran", () => {
    expect(reference.stderr).toBe("");
    expect(reference.run?.backend).toBe("ts");
  });

  describe.each(k.variants)("variant %s", (variant) => {
    it("is the one active, and every result agrees with the ts backend", () => {
      const { run: r, stderr } = runs.get(variant)!;
      expect(stderr).toBe("");
      expect(r?.variant).toBe(variant);
      for (const [key, ts] of Object.entries(reference.run!.results)) {
        const limit = key in tolerance ? tolerance[key] : 2e-5;
        if (limit === undefined) continue;
        expect(relativeError(floats(r!.results[key]!), floats(ts)), `${variant}: ${key}`).toBeLessThanOrEqual(limit);
      }
    });
  });

  it("variants of one configuration give the same bits; FMA variants' GEMMs too", () => {
    const results = (v: KernelVariant): Record<string, string> => runs.get(v)!.run!.results;
    const same = sameConfig.filter((v) => runs.has(v));
    for (const v of same.slice(1)) expect(results(v), v).toEqual(results(same[0]!));
    const fma = fmaVariants.filter((v) => runs.has(v));
    for (const v of fma.slice(1)) {
      for (const key of Object.keys(results(v)).filter((name) => name.includes("matmul"))) {
        expect(results(v)[key], `${v}: ${key}`).toBe(results(fma[0]!)[key]);
      }
    }
    expect(fma.length, "every x86-64 CPU with AVX2 runs avx2 and avx2-wide").toBeGreaterThanOrEqual(2);
  });

  it("accepts avx2_wide for avx2-wide and auto for the default", () => {
    expect(run({ SEAPO_BACKEND: "native", SEAPO_NATIVE_ISA: "avx2_wide" }).run?.variant).toBe("avx2-wide");
    expect(run({ SEAPO_BACKEND: "native", SEAPO_NATIVE_ISA: "auto" }).run?.variant).toBe(k.variants[0]);
  });

  it("refuses a variant this CPU cannot run, naming those it can", () => {
    const missing = KERNEL_VARIANTS.find((v) => !k.variants.includes(v));
    if (missing === undefined) return; // this CPU runs every variant
    const refused = run({ SEAPO_NATIVE_ISA: missing });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `Error: SEAPO_NATIVE_ISA=${missing}: this CPU cannot run the ${missing} kernels (it runs ${k.variants.join(", ")})`,
    );
  });

  it("refuses an unknown name, listing the choices", () => {
    const refused = run({ SEAPO_NATIVE_ISA: "mmx" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      'Error: SEAPO_NATIVE_ISA must be one of auto, avx512-bf16, avx512, avx2, avx2-wide, scalar, got "mmx"',
    );
  });
});

describe.skipIf(native === undefined)("describeNativeKernels", () => {
  it("names the active variant, how it was chosen, the threads and the runnable variants", () => {
    const k = native!;
    const saved = process.env.SEAPO_NATIVE_ISA;
    try {
      delete process.env.SEAPO_NATIVE_ISA;
      const runnable = k.variants.join(", ");
      expect(describeNativeKernels(k)).toBe(
        `native kernels ${k.variant} (auto; isa ${k.isa}${k.bf16Native ? ", bf16 products in hardware" : ""}), ${k.threads} threads; runnable: ${runnable}`,
      );
      process.env.SEAPO_NATIVE_ISA = k.variant;
      expect(describeNativeKernels(k)).toContain(`native kernels ${k.variant} (SEAPO_NATIVE_ISA; isa ${k.isa}`);
    } finally {
      if (saved === undefined) delete process.env.SEAPO_NATIVE_ISA;
      else process.env.SEAPO_NATIVE_ISA = saved;
    }
  });
});
