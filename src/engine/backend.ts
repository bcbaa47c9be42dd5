/**
 * Backend selection: which implementation of the hooks (`backend-interface.ts`) the ops call.
 */
import { tsBackend } from "./backends/ts.js";
import { loadNativeBackend, nativeBackendError } from "./backends/native.js";
import type { Backend } from "./backend-interface.js";
import { loadNativeKernels, type NativeKernels } from "./native/index.js";

export type { Backend, BinaryOp, GemmParams, ReduceOp, UnaryOp } from "./backend-interface.js";

export type BackendName = "ts" | "native";

let current: Backend | undefined;

function pick(name: BackendName | undefined): Backend {
  if (name === "ts") return tsBackend;
  const native = loadNativeBackend();
  if (native) return native;
  const reason = nativeBackendError() ?? "unknown reason";
  if (name === "native") throw new Error(`SEAPO_BACKEND=native, but the native kernels are unavailable: ${reason}`);
  console.warn(
    `seapo: native kernels unavailable (${reason}); using the TypeScript backend, about 100× slower on matmul`,
  );
  return tsBackend;
}

function parseBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "ts" || value === "native") return value;
  throw new Error(`SEAPO_BACKEND must be "ts" or "native", got "${value}"`);
}

/** The backend in use: SEAPO_BACKEND=ts|native if set, else native when built, else ts (with one warning). */
export function backend(): Backend {
  current ??= pick(parseBackendName(process.env.SEAPO_BACKEND));
  return current;
}

/** Selects a backend by name for the whole process. */
export function setBackend(name: BackendName): Backend {
  current = pick(name);
  return current;
}

/** Runs `fn` with a given backend, restoring the previous one afterwards (tests compare backends this way). */
export function withBackend<T>(which: Backend, fn: () => T): T {
  const previous = current;
  current = which;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** The native kernels when the backend in use is native (for products the backend hooks lack), else undefined. */
export function activeNativeKernels(): NativeKernels | undefined {
  return backend().name === "native" ? loadNativeKernels() : undefined;
}
