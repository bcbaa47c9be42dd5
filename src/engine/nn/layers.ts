/**
 * The three layers a Llama-style model needs: Linear, Embedding, RMSNorm.
 * Each holds its parameters as tensors and lists them under Hugging Face's names.
 */
import * as ops from "../ops.js";
import { ShapeError } from "../ops.js";
import type { Rng } from "../random.js";
import { randn, Tensor, zeros } from "../tensor.js";

/** What a model needs from a linear layer, so LoRALinear can stand in for Linear. */
export interface LinearLike {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [..., in] → [..., out] */
  forward(x: Tensor): Tensor;
  /** Parameters named `${prefix}.weight` and so on. */
  namedParameters(prefix: string): [string, Tensor][];
}

/** y = x·Wᵀ + b with W stored [out, in] (PyTorch layout). */
export class Linear implements LinearLike {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor | null = null,
  ) {
    if (weight.ndim !== 2) throw new ShapeError("Linear", "weight must be [out, in]", [weight.shape]);
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
      throw new ShapeError("Linear", "bias must be [out]", [weight.shape, bias.shape]);
    }
  }

  /** Normal(0, std²) weights and zero bias, trainable. */
  static init(
    inFeatures: number,
    outFeatures: number,
    rng: Rng,
    options: { bias?: boolean; std?: number } = {},
  ): Linear {
    const weight = randn([outFeatures, inFeatures], rng, options.std ?? 0.02, true);
    return new Linear(weight, options.bias ? zeros([outFeatures], true) : null);
  }

  get inFeatures(): number {
    return this.weight.shape[1]!;
  }

  get outFeatures(): number {
    return this.weight.shape[0]!;
  }

  forward(x: Tensor): Tensor {
    if (x.dim(-1) !== this.inFeatures)
      throw new ShapeError("Linear", `input has ${x.dim(-1)} features, expected ${this.inFeatures}`, [
        x.shape,
        this.weight.shape,
      ]);
    // Fold the leading axes into rows: one [N, in]·[out, in]ᵀ product forward and backward.
    const rows = x.reshape([-1, this.inFeatures]);
    let y = ops.matmul(rows, this.weight, { transB: true });
    if (this.bias !== null) y = ops.add(y, this.bias);
    return y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }

  namedParameters(prefix: string): [string, Tensor][] {
    const params: [string, Tensor][] = [[`${prefix}.weight`, this.weight]];
    if (this.bias !== null) params.push([`${prefix}.bias`, this.bias]);
    return params;
  }
}

/** Rows of a [vocab, C] table by token id. */
export class Embedding {
  constructor(readonly weight: Tensor) {
    if (weight.ndim !== 2) throw new ShapeError("Embedding", "weight must be [vocab, dim]", [weight.shape]);
  }

  /** ids (flat, row-major, of shape idsShape) → [...idsShape, C] */
  forward(ids: ArrayLike<number>, idsShape: readonly number[]): Tensor {
    return ops.gather(this.weight, ids, idsShape);
  }

  namedParameters(prefix: string): [string, Tensor][] {
    return [[`${prefix}.weight`, this.weight]];
  }
}

/** x / rms(x) · weight over the last axis. */
export class RMSNorm {
  constructor(
    readonly weight: Tensor,
    readonly eps: number,
  ) {
    if (weight.ndim !== 1) throw new ShapeError("RMSNorm", "weight must be [C]", [weight.shape]);
  }

  forward(x: Tensor): Tensor {
    return ops.rmsnorm(x, this.weight, this.eps);
  }

  namedParameters(prefix: string): [string, Tensor][] {
    return [[`${prefix}.weight`, this.weight]];
  }
}
