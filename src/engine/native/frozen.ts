/**
 * Frozen weights that the native backend may multiply from a bf16 copy (LoRA's base weights).
 *
 * A layer marks a weight's Float32Array frozen (`markFrozenWeight`); with `SEAPO_GEMM_BF16=1` on a CPU
 * with AVX512-BF16, every GEMM whose B is a marked array (y = x·Wᵀ forward, dx = dy·W backward) runs
 * as `gemmBf16` with `bf16Dot` on a bf16 copy made at first use, rounding the activations to bf16 too.
 * Off by default: it changes results by about 2⁻⁸ relative (docs/engine.md, "bf16 GEMM"). A marked
 * array must not change afterwards (the copy is not refreshed); LoRA never writes its base.
 */

import type { NativeKernels } from "./types.js";

interface Copy {
  bits: Uint16Array;
  /** Three values of the f32 array when the copy was made: a cheap guard against a rewritten array. */
  probe: [number, number, number];
}

const frozen = new WeakMap<Float32Array, Copy | null>();

const probeOf = (data: Float32Array): [number, number, number] => [
  data[0]!,
  data[data.length >> 1]!,
  data[data.length - 1]!,
];
const sameProbe = (a: [number, number, number], b: [number, number, number]): boolean =>
  Object.is(a[0], b[0]) && Object.is(a[1], b[1]) && Object.is(a[2], b[2]);

/** Marks a weight as frozen: a candidate for bf16 products. */
export function markFrozenWeight(data: Float32Array): void {
  if (!frozen.has(data)) frozen.set(data, null);
}

/** bf16 bits of each value, rounded to nearest even (a NaN stays a quiet NaN). */
export function toBf16Bits(data: Float32Array): Uint16Array {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < words.length; i++) {
    const u = words[i]!;
    out[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** The bf16 copy of a frozen weight (made once), or undefined when `data` was not marked. */
export function frozenBf16(data: Float32Array): Uint16Array | undefined {
  const copy = frozen.get(data);
  if (copy === undefined || data.length === 0) return undefined;
  const probe = probeOf(data);
  if (copy !== null && sameProbe(copy.probe, probe)) return copy.bits;
  const bits = toBf16Bits(data);
  frozen.set(data, { bits, probe });
  return bits;
}

/**
 * How frozen weights are multiplied: "f32" (the default), "bf16" (SEAPO_GEMM_BF16=1, where the active
 * variant has AVX512-BF16), or "bf16-emulated", which tests set to run the same arithmetic on any CPU.
 */
export type FrozenArithmetic = "f32" | "bf16" | "bf16-emulated";

let override: FrozenArithmetic | undefined;

/** Sets the arithmetic for the process (undefined: back to SEAPO_GEMM_BF16). */
export function setFrozenArithmetic(mode: FrozenArithmetic | undefined): void {
  override = mode;
}

/** SEAPO_GEMM_BF16 read and checked: "1" asks for bf16 products, "0" or unset for f32. */
export function requestedFrozenArithmetic(): FrozenArithmetic {
  if (override !== undefined) return override;
  const value = process.env.SEAPO_GEMM_BF16;
  if (value === undefined || value === "" || value === "0") return "f32";
  if (value === "1") return "bf16";
  throw new Error(`SEAPO_GEMM_BF16 must be 0 or 1, got "${value}"`);
}

let warned = false;

/**
 * The native backend's gemm: the addon's, except that a frozen B (see `markFrozenWeight`) goes through
 * gemmBf16 with bf16Dot when the arithmetic asks for it and the CPU (or the test's emulation) allows.
 */
export function frozenAwareGemm(k: NativeKernels): NativeKernels["gemm"] {
  return (a, b, c, options) => {
    const copy = frozen.has(b) ? chooseBf16(k) && frozenBf16(b) : undefined;
    if (copy) k.gemmBf16(a, copy, c, { ...options, bf16Dot: true });
    else k.gemm(a, b, c, options);
  };
}

function chooseBf16(k: NativeKernels): boolean {
  const mode = requestedFrozenArithmetic();
  if (mode === "f32") return false;
  if (mode === "bf16-emulated" || k.bf16Native) return true;
  if (!warned) {
    warned = true;
    console.warn(
      `seapo: SEAPO_GEMM_BF16=1, but the ${k.variant} kernels have no AVX512-BF16; frozen weights are multiplied in f32`,
    );
  }
  return false;
}
