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
import type { NativeKernels } from "./types.js";

export type { GemmOptions, Isa, KernelVariant, Kernels, NativeKernels, RopeOptions } from "./types.js";

/** Must equal `kAbiVersion` in native/addon.cc; a different value means the build is stale. */
const ABI_VERSION = 1;

/** Every function the addon must export: the contract's kernels and the variant switch. */
export const KERNEL_FUNCTIONS: readonly (keyof NativeKernels)[] = [...KERNEL_NAMES, "useVariant"];

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

/** The native kernels, loaded once per process; undefined when unavailable (see `nativeLoadError`). */
export function loadNativeKernels(): NativeKernels | undefined {
  cached ??= loadNativeKernelsFrom(defaultAddonPath());
  return cached.kernels;
}

/** Why `loadNativeKernels()` returned undefined (undefined when it loaded, or before the first call). */
export function nativeLoadError(): string | undefined {
  return cached?.error;
}
