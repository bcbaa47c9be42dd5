/**
 * What one backward pass owns: the gradients in flight (counted per buffer, since reshape shares one),
 * the buffers it allocated, and, in a recycling scope with releaseTape, the tape's buffers.
 *
 * Gradients and rule temporaries go back to the pool as soon as no gradient in flight views them. A
 * tape buffer (an output or input of a recorded node, allocated in the scope) goes back once every
 * rule that reads it has run; one that no rule reads goes back when the pass starts, so the first
 * gradients already reuse it.
 */
import type { OpName } from "./op-list.js";
import { add } from "./ops.js";
import { capturing, keep, release, tapeReleasable } from "./pool.js";
import type { Tensor } from "./tensor-core.js";

/** For each op, the tensors (inputs or the output) whose values its gradient rule reads. */
export type RuleReads = { [K in OpName]?: (out: Tensor, inputs: readonly Tensor[]) => readonly Tensor[] };

function readsOf(t: Tensor, reads: RuleReads): readonly Tensor[] {
  const node = t.node!;
  const rule = reads[node.op];
  return rule === undefined ? [t, ...node.inputs] : rule(t, node.inputs);
}

export class BackwardMemory {
  readonly grads = new Map<Tensor, Tensor>();
  private readonly holders = new Map<Float32Array, number>();
  private readonly made = new Set<Float32Array>();
  private readonly tapeReaders = new Map<Float32Array, number>();

  constructor(
    order: readonly Tensor[],
    private readonly reads: RuleReads,
  ) {
    const unread = new Set<Float32Array>();
    for (const t of order) {
      if (t.node === null) continue;
      for (const x of [t, ...t.node.inputs]) if (tapeReleasable(x.data)) unread.add(x.data);
      for (const x of readsOf(t, reads)) {
        if (!tapeReleasable(x.data)) continue;
        this.tapeReaders.set(x.data, (this.tapeReaders.get(x.data) ?? 0) + 1);
        unread.delete(x.data);
      }
    }
    for (const data of unread) if (!this.tapeReaders.has(data)) release(data);
  }

  /** Runs one node's work, remembering the buffers it allocates as this pass's own. */
  track(fn: () => void): void {
    const [, buffers] = capturing(fn);
    for (const b of buffers) this.made.add(b);
  }

  take(t: Tensor): Tensor | undefined {
    const g = this.grads.get(t);
    this.grads.delete(t);
    return g;
  }

  /** Adds a gradient for x, summing with one already in flight. */
  put(x: Tensor, gx: Tensor): void {
    const previous = this.grads.get(x);
    const total = previous === undefined ? gx : add(previous, gx);
    this.grads.set(x, total);
    this.holders.set(total.data, (this.holders.get(total.data) ?? 0) + 1);
    if (previous !== undefined) this.drop(previous);
  }

  /** A consumed gradient: its buffer may go back once no other gradient in flight views it. */
  drop(g: Tensor): void {
    const n = (this.holders.get(g.data) ?? 0) - 1;
    if (n > 0) this.holders.set(g.data, n);
    else this.holders.delete(g.data);
  }

  /** Hands g's buffer (just taken) to a leaf as its .grad when this pass made it and nothing else views it. */
  adopt(g: Tensor): Float32Array | undefined {
    if (!this.made.has(g.data) || (this.holders.get(g.data) ?? 0) > 1) return undefined;
    this.made.delete(g.data);
    keep(g.data);
    return g.data;
  }

  /** After node t's rule: free the tape buffers no later rule reads, and this pass's unheld buffers. */
  sweep(t: Tensor): void {
    for (const x of t.node === null ? [] : readsOf(t, this.reads)) {
      const n = this.tapeReaders.get(x.data);
      if (n === undefined) continue;
      if (n > 1) this.tapeReaders.set(x.data, n - 1);
      else {
        this.tapeReaders.delete(x.data);
        release(x.data);
      }
    }
    for (const b of this.made) {
      if (this.holders.has(b)) continue;
      this.made.delete(b);
      release(b);
    }
  }
}
