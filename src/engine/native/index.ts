/**
 * Loads the native CPU kernels (`build/Release/seapo_native.node`, built by `node scripts/build-native.mjs`).
 *
 * The addon is optional: when it is missing, stale or fails to load, `loadNativeKernels()` returns
 * undefined and `nativeLoadError()` says why, so the engine can fall back to its TypeScript backend.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KERNEL_NAMES } from "../kernels.js";
import { requestedFrozenArithmetic } from "./frozen.js";
import type { NativeKernels } from "./types.js";

export type { GemmBf16Options, GemmOptions, GemmPackedOptions, Isa, KernelVariant, Kernels, NativeKernels, RopeOptions } from "./types.js";
export { KERNEL_VARIANTS } from "./types.js";
export {
  frozenAwareGemm,
  frozenBf16,
  markFrozenWeight,
  requestedFrozenArithmetic,
  setFrozenArithmetic,
  toBf16Bits,
  type FrozenArithmetic,
} from "./frozen.js";

/** Must equal `kAbiVersion` in native/addon.cc; a different value means the build is stale. */
const ABI_VERSION = 4;

/** Every function the addon must export: the contract's kernels, the variant switch, the bf16 and packed GEMMs. */
export const KERNEL_FUNCTIONS: readonly (keyof NativeKernels)[] = [
  ...KERNEL_NAMES,
  "useVariant",
  "gemmBf16",
  "packWeight",
  "gemmPacked",
];

export type NativeLoadResult = { kernels: NativeKernels; error?: undefined } | { kernels?: undefined; error: string };

/** The addon's expected path: build/Release under the nearest ancestor directory holding a package.json. */
export function defaultAddonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "build", "Release", "seapo_native.node");
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), "build", "Release", "seapo_native.node");
    dir = parent;
  }
}

/** Loads an addon file without caching; never throws. */
export function loadNativeKernelsFrom(path: string): NativeLoadResult {
  if (!existsSync(path)) return { error: `${path} does not exist (build it with \`node scripts/build-native.mjs\`)` };
  let addon: unknown;
  try {
    addon = createRequire(import.meta.url)(path);
  } catch (error) {
    return { error: `${path} failed to load: ${error instanceof Error ? error.message : String(error)}` };
  }
  const record = addon as Record<string, unknown>;
  if (record.abiVersion !== ABI_VERSION) {
    return { error: `${path} is stale (ABI ${String(record.abiVersion)}, expected ${ABI_VERSION}); rebuild it` };
  }
  const missing = KERNEL_FUNCTIONS.filter((name) => typeof record[name] !== "function");
  if (missing.length > 0) return { error: `${path} lacks ${missing.join(", ")}; rebuild it` };
  return { kernels: addon as NativeKernels };
}

let cached: NativeLoadResult | undefined;

/** SEAPO_NATIVE_ISA when it forces a variant (anything but unset, empty or "auto"). */
export function forcedVariant(): string | undefined {
  const value = process.env.SEAPO_NATIVE_ISA;
  return value === undefined || value === "" || value === "auto" ? undefined : value;
}

/**
 * The native kernels, loaded once per process; undefined when unavailable (see `nativeLoadError`).
 * When SEAPO_NATIVE_ISA forces a variant, the user asked for native kernels: a failure to load (a
 * variant this CPU cannot run, an unknown name, no build) throws instead of falling back.
 */
export function loadNativeKernels(): NativeKernels | undefined {
  cached ??= loadNativeKernelsFrom(defaultAddonPath());
  const forced = forcedVariant();
  if (cached.error !== undefined && forced !== undefined) {
    const own = cached.error.indexOf("SEAPO_NATIVE_ISA"); // the addon's own refusal says it all
    throw new Error(own >= 0 ? cached.error.slice(own) : `SEAPO_NATIVE_ISA=${forced}, but ${cached.error}`);
  }
  return cached.kernels;
}

/** One line for benchmarks and diagnostics: the active variant, how it was chosen, the threads. */
export function describeNativeKernels(k: NativeKernels): string {
  const how = forcedVariant() === undefined ? "auto" : "SEAPO_NATIVE_ISA";
  const bf16 = k.bf16Native ? ", bf16 products in hardware" : "";
  const frozen = requestedFrozenArithmetic() === "f32" ? "" : `; frozen weights ${requestedFrozenArithmetic()}`;
  return `native kernels ${k.variant} (${how}; isa ${k.isa}${bf16}), ${k.threads} threads; runnable: ${k.variants.join(", ")}${frozen}`;
}

/** Why `loadNativeKernels()` returned undefined (undefined when it loaded, or before the first call). */
export function nativeLoadError(): string | undefined {
  return cached?.error;
}
