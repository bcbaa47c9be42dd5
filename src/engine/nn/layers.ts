/**
 * The three layers a Llama-style model needs: Linear, Embedding, RMSNorm.
 * Each holds its parameters as tensors and lists them under Hugging Face's names.
 */
import { backend } from "../backend.js";
import { Bf16Matrix } from "../bf16-matrix.js";
import { frozenMatmul, gemmFrozen } from "../frozen-matmul.js";
import * as ops from "../ops.js";
import type { WeightPacks } from "../packed-weights.js";
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

/**
 * y = x·Wᵀ + b with W stored [out, in] (PyTorch layout). A frozen W whose values are all bf16 can be held
 * as bf16 bits only (`keepBf16`, frozen-matmul.ts): half the bytes, the same results to the last bit.
 */
export class Linear implements LinearLike {
  private f32: Tensor | null;
  private bf16: Bf16Matrix | null;

  constructor(
    weight: Tensor | Bf16Matrix,
    readonly bias: Tensor | null = null,
  ) {
    [this.f32, this.bf16] = weight instanceof Bf16Matrix ? [null, weight] : [weight, null];
    if (weight instanceof Tensor && weight.ndim !== 2)
      throw new ShapeError("Linear", "weight must be [out, in]", [weight.shape]);
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== this.outFeatures)) {
      throw new ShapeError("Linear", "bias must be [out]", [[this.outFeatures, this.inFeatures], bias.shape]);
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

  /**
   * W as an f32 tensor. For a weight held in bf16 this is a fresh widened copy each call (for merge,
   * export and saving): writes to it are lost, and asking it for a gradient throws.
   */
  get weight(): Tensor {
    return this.f32 ?? frozenCopy(this.bf16!);
  }

  /** The bf16 bits when the weight is held that way (see keepBf16), else null. */
  get bf16Weight(): Bf16Matrix | null {
    return this.bf16;
  }

  /**
   * Drops the f32 weight for its bf16 bits when it is frozen (no gradient) and every value is exactly a
   * bf16, as for a weight read from a bf16 file. Returns whether the layer now holds bf16 bits.
   */
  keepBf16(): boolean {
    if (this.bf16 !== null) return true;
    const w = this.f32!;
    if (w.requiresGrad) return false;
    const bits = Bf16Matrix.ifExact(w.data, w.dim(0), w.dim(1));
    if (bits === undefined) return false;
    [this.f32, this.bf16] = [null, bits];
    return true;
  }

  get inFeatures(): number {
    return this.bf16?.cols ?? this.f32!.shape[1]!;
  }

  get outFeatures(): number {
    return this.bf16?.rows ?? this.f32!.shape[0]!;
  }

  /**
   * out[rows, out] = x[rows, in]·Wᵀ + bias on raw buffers, from whichever form W is held in (no tape);
   * an f32 W is multiplied through `packs` when given (decode steps: the same bits, packed once).
   */
  forwardInto(x: Float32Array, rows: number, out: Float32Array, packs?: WeightPacks): void {
    const n = this.outFeatures;
    const options = { m: rows, n, k: this.inFeatures, transB: true };
    if (this.bf16) gemmFrozen(x, this.bf16, out, options);
    else if (packs) packs.multiply(x, this.f32!.data, out, options);
    else backend().gemm(x, this.f32!.data, out, options);
    if (this.bias === null) return;
    const bias = this.bias.data;
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) out[r * n + j]! += bias[j]!;
  }

  /** dx[rows, in] = g[rows, out]·W on raw buffers (the input's gradient, for a frozen layer's fused users). */
  inputGradInto(g: Float32Array, rows: number, dx: Float32Array): void {
    const options = { m: rows, n: this.inFeatures, k: this.outFeatures };
    if (this.bf16) gemmFrozen(g, this.bf16, dx, options);
    else backend().gemm(g, this.f32!.data, dx, options);
  }

  /** Whether no parameter of the layer takes a gradient (a bf16-held weight never does). */
  get frozen(): boolean {
    return !(this.f32?.requiresGrad ?? false) && !(this.bias?.requiresGrad ?? false);
  }

  forward(x: Tensor): Tensor {
    if (x.dim(-1) !== this.inFeatures)
      throw new ShapeError("Linear", `input has ${x.dim(-1)} features, expected ${this.inFeatures}`, [
        x.shape,
        [this.outFeatures, this.inFeatures],
      ]);
    // Fold the leading axes into rows: one [N, in]·[out, in]ᵀ product forward and backward.
    const rows = x.reshape([-1, this.inFeatures]);
    let y = this.bf16 ? frozenMatmul(rows, this.bf16) : ops.matmul(rows, this.f32!, { transB: true });
    if (this.bias !== null) y = ops.add(y, this.bias);
    return y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }

  namedParameters(prefix: string): [string, Tensor][] {
    const params: [string, Tensor][] = [[`${prefix}.weight`, this.weight]];
    if (this.bias !== null) params.push([`${prefix}.bias`, this.bias]);
    return params;
  }
}

/** A widened copy of a bf16 weight that refuses to become trainable (a gradient on it would be lost). */
function frozenCopy(bits: Bf16Matrix): Tensor {
  const copy = new Tensor(bits.widen(), [bits.rows, bits.cols]);
  Object.defineProperty(copy, "requiresGrad", {
    get: () => false,
    set: (value: boolean) => {
      if (value)
        throw new Error(
          "Linear: this frozen weight is held as bf16 bits and cannot be trained; build a fresh model for full fine-tuning, or run without SEAPO_FROZEN_BF16=1",
        );
    },
  });
  return copy;
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
