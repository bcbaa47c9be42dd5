/**
 * The buffer pool: free lists of ArrayBuffers by size class, so that the intermediate tensors of a
 * training step reuse the previous step's memory instead of leaving it to the garbage collector.
 *
 * Ops take their output buffers from `allocate` (a view of exactly the asked length on a buffer of its
 * size class, eight classes per octave). A buffer returns to its list only through `release`, which
 * two places call: the backward pass, for gradients and temporaries it made and has consumed, and the
 * end of a `recycling` scope, for every buffer the ops allocated inside it. Nothing else is released,
 * so tensors made outside a scope are garbage-collected as before.
 *
 * SEAPO_POOL=0 turns the pool off (every allocation is fresh), SEAPO_POOL_POISON=1 fills released
 * buffers with NaN (tests use it to catch a buffer read after its release), SEAPO_POOL_MIB caps the
 * memory the free lists hold (default: half of RAM), SEAPO_POOL_MIN_BYTES sets the
 * smallest pooled buffer (default 4096; tests set 0 so that every tensor of a tiny model is pooled).
 */
import { totalmem } from "node:os";

const CLASSES_PER_OCTAVE = 8;

interface PoolSettings {
  enabled: boolean;
  poison: boolean;
  maxBytes: number;
  /** Buffers of at most this many bytes are not pooled (small typed arrays are cheap for V8); tests set 0. */
  minBytes: number;
}

function envSettings(): PoolSettings {
  const mib = Number(process.env.SEAPO_POOL_MIB);
  return {
    enabled: process.env.SEAPO_POOL !== "0",
    poison: process.env.SEAPO_POOL_POISON === "1",
    // A step that cannot keep its buffers pays page faults and zeroing for fresh ones next step: at the
    // Qwen2.5-0.5B shape (~11 GB per LoRA step) a 4 GiB cap made the step 81 s instead of 60 s.
    maxBytes: Number.isFinite(mib) && mib >= 0 ? mib * 2 ** 20 : totalmem() / 2,
    minBytes: Number(process.env.SEAPO_POOL_MIN_BYTES ?? 4096),
  };
}

let settings = envSettings();
const free = new Map<number, ArrayBuffer[]>();
/** Buffers now on a free list: a second release of one is a bug, and is refused. */
const pooled = new Set<ArrayBuffer>();
/** Buffers handed to long-lived owners (parameter gradients): no scope releases them. */
const kept = new WeakSet<ArrayBuffer>();
const stats = { allocations: 0, reused: 0, released: 0, pooledBytes: 0 };

/** One recycling scope: the buffers allocated inside it (innermost scope only). */
interface Scope {
  buffers: Set<Float32Array>;
  releaseTape: boolean;
}
const scopes: Scope[] = [];
/** Listeners that see every allocation (the backward pass tracks the buffers its rules make). */
const captures: Float32Array[][] = [];

/** The byte size of the class that holds n floats: n rounded up to 1/8 of its octave. */
export function classBytes(n: number): number {
  const bytes = n * 4;
  if (bytes < 64) return bytes;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - Math.log2(CLASSES_PER_OCTAVE));
  return Math.ceil(bytes / step) * step;
}

function track(view: Float32Array): void {
  scopes.at(-1)?.buffers.add(view);
  for (const list of captures) list.push(view);
}

/** A Float32Array of n elements with unspecified contents (all NaN in poison mode, reused or not). */
export function allocate(n: number): Float32Array {
  stats.allocations++;
  const bytes = classBytes(n);
  if (!settings.enabled || n === 0 || bytes <= settings.minBytes) {
    const out = new Float32Array(n);
    return settings.poison ? out.fill(NaN) : out;
  }
  const buffer = free.get(bytes)?.pop();
  if (buffer !== undefined) {
    pooled.delete(buffer);
    stats.reused++;
    stats.pooledBytes -= bytes;
  }
  const view = new Float32Array(buffer ?? new ArrayBuffer(bytes), 0, n);
  track(view);
  return settings.poison && buffer === undefined ? view.fill(NaN) : view;
}

/** allocate, filled with zeros (for kernels that accumulate into their output). */
export function allocateZeroed(n: number): Float32Array {
  const out = allocate(n);
  return out.fill(0);
}

/** Whether `data` is a view the pool may take back (allocated by `allocate`, not kept, not on a list). */
function releasable(data: Float32Array): boolean {
  const buffer = data.buffer as ArrayBuffer;
  return (
    settings.enabled &&
    data.byteOffset === 0 &&
    buffer.byteLength > settings.minBytes &&
    buffer.byteLength === classBytes(buffer.byteLength / 4) &&
    !kept.has(buffer) &&
    !pooled.has(buffer)
  );
}

/** Returns a buffer to its free list. The caller guarantees no live tensor views it. */
export function release(data: Float32Array): void {
  if (!releasable(data)) return;
  const buffer = data.buffer as ArrayBuffer;
  if (stats.pooledBytes + buffer.byteLength > settings.maxBytes) return;
  if (settings.poison) new Float32Array(buffer).fill(NaN);
  let list = free.get(buffer.byteLength);
  if (list === undefined) free.set(buffer.byteLength, (list = []));
  list.push(buffer);
  pooled.add(buffer);
  stats.released++;
  stats.pooledBytes += buffer.byteLength;
}

/** Marks a buffer as owned beyond every scope (a parameter's gradient): no scope end releases it. */
export function keep(data: Float32Array): void {
  kept.add(data.buffer as ArrayBuffer);
}

/** Whether the innermost scope allocated this buffer and asked backward to release its tape. */
export function tapeReleasable(data: Float32Array): boolean {
  const scope = scopes.at(-1);
  return scope !== undefined && scope.releaseTape && scope.buffers.has(data);
}

export interface RecyclingOptions {
  /**
   * Also let backward release each tape tensor's buffer (activations saved for the gradient) as soon
   * as it has used it, so tensors recorded on the tape are invalid after backward, not only after the scope.
   */
  releaseTape?: boolean;
}

/**
 * Runs fn and returns every buffer the ops allocated inside it to the pool when it ends, so the next
 * call reuses them. Tensors made inside are invalid afterwards: return numbers, or copies
 * (`t.data.slice()`). Parameter gradients written by backward inside are kept.
 */
export function recycling<T>(fn: () => T, options: RecyclingOptions = {}): T {
  const scope: Scope = { buffers: new Set(), releaseTape: options.releaseTape ?? false };
  scopes.push(scope);
  try {
    return fn();
  } finally {
    scopes.pop();
    for (const view of scope.buffers) release(view);
  }
}

/** Runs fn and returns it with the buffers allocated meanwhile (the backward pass tracks its rules' outputs). */
export function capturing<T>(fn: () => T): [T, Float32Array[]] {
  const list: Float32Array[] = [];
  captures.push(list);
  try {
    return [fn(), list];
  } finally {
    captures.pop();
  }
}

export interface PoolStats {
  /** allocate calls, those served from a free list, release calls that took a buffer back. */
  allocations: number;
  reused: number;
  released: number;
  /** Bytes now held by the free lists. */
  pooledBytes: number;
}

export function poolStats(): PoolStats {
  return { ...stats };
}

/** Changes the settings for the process (tests turn poisoning on); the free lists are emptied. */
export function configurePool(changes: Partial<PoolSettings>): void {
  settings = { ...settings, ...changes };
  free.clear();
  pooled.clear();
  stats.pooledBytes = 0;
}

export function poolSettings(): Readonly<PoolSettings> {
  return { ...settings };
}
