/**
 * AdamW (Loshchilov & Hutter, arXiv 1711.05101): Adam with weight decay applied to the weights
 * directly rather than through the gradient. Follows torch.optim.AdamW's update, with a per-parameter
 * step count (a parameter without a gradient in a step is left alone and does not count the step).
 */
import { Tensor } from "./tensor.js";

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (torch's default is 0.01). */
  weightDecay?: number;
}

/** Optimizer state, keyed by parameter name; what a checkpoint saves. */
export interface AdamWState {
  lr: number;
  params: Record<string, { step: number; m: Float32Array; v: Float32Array }>;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: Map<string, Tensor>;
  private readonly state = new Map<string, { step: number; m: Float32Array; v: Float32Array }>();

  /** Parameters by name (e.g. model.trainableParameters()); an array is named by index. */
  constructor(params: Map<string, Tensor> | readonly Tensor[], options: AdamWOptions) {
    this.params = params instanceof Map ? new Map(params) : new Map(params.map((p, i) => [String(i), p]));
    this.lr = options.lr;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
  }

  /** One update of every parameter that has a gradient, in place. */
  step(): void {
    const { lr, beta1, beta2, eps, weightDecay } = this;
    for (const [name, p] of this.params) {
      const grad = p.grad;
      if (grad === null) continue;
      let s = this.state.get(name);
      if (s === undefined) {
        s = { step: 0, m: new Float32Array(p.size), v: new Float32Array(p.size) };
        this.state.set(name, s);
      }
      s.step++;
      const correction1 = 1 - beta1 ** s.step;
      const stepSize = lr / correction1;
      const sqrtCorrection2 = Math.sqrt(1 - beta2 ** s.step);
      const decay = 1 - lr * weightDecay;
      const { m, v } = s;
      const w = p.data;
      const g = grad.data;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        w[i] = w[i]! * decay - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / sqrtCorrection2 + eps);
      }
    }
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params.values()) p.grad = null;
  }

  /** A copy of the state (safe to keep while training continues). */
  stateDict(): AdamWState {
    const params: AdamWState["params"] = {};
    for (const [name, s] of this.state) params[name] = { step: s.step, m: s.m.slice(), v: s.v.slice() };
    return { lr: this.lr, params };
  }

  /** Restores a state saved by stateDict(); names and sizes must match this optimizer's parameters. */
  loadStateDict(state: AdamWState): void {
    this.state.clear();
    for (const [name, s] of Object.entries(state.params)) {
      const p = this.params.get(name);
      if (p === undefined) throw new Error(`AdamW.loadStateDict: no parameter named "${name}"`);
      if (s.m.length !== p.size || s.v.length !== p.size) {
        throw new Error(`AdamW.loadStateDict: state for "${name}" has ${s.m.length} values, the parameter ${p.size}`);
      }
      this.state.set(name, { step: s.step, m: Float32Array.from(s.m), v: Float32Array.from(s.v) });
    }
    this.lr = state.lr;
  }
}

/**
 * Scales gradients in place so their global L2 norm is at most maxNorm (torch's clip_grad_norm_).
 * Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  let sumSquares = 0;
  for (const g of grads) for (let i = 0; i < g.size; i++) sumSquares += g.data[i]! * g.data[i]!;
  const norm = Math.sqrt(sumSquares);
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) for (const g of grads) for (let i = 0; i < g.size; i++) g.data[i]! *= scale;
  return norm;
}
