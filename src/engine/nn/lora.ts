/**
 * LoRA as a wrapper (Hu et al. 2021, arXiv 2106.09685): y = base(x) + (α/r) · dropout(x)·Aᵀ·Bᵀ
 * with A [r, in] random and B [out, r] zero, so the wrapped layer starts equal to its base.
 * The base layer is frozen; merge() folds the adapter into a plain Linear for export.
 * Parameter names follow PEFT: `${prefix}.lora_A.weight`, `${prefix}.lora_B.weight`.
 */
import { addLoraProduct, loraLinear } from "../fused-lora.js";
import * as ops from "../ops.js";
import { ShapeError } from "../ops.js";
import { markFrozenWeight, requestedFrozenArithmetic } from "../native/index.js";
import type { WeightPacks } from "../packed-weights.js";
import { Rng } from "../random.js";
import { noGrad, Tensor, uniform, zeros } from "../tensor.js";
import { dropout } from "./functional.js";
import { Linear, type LinearLike } from "./layers.js";

/**
 * SEAPO_FROZEN_BF16=1 holds frozen bf16-valued base weights as bf16 bits; "0" or unset keeps f32. Off by
 * default: the memory is only saved when nothing else keeps the loaded f32 arrays (seapo train still
 * holds its HfModel's weight map), and otherwise the bits come on top of them.
 */
export function keepFrozenBf16(): boolean {
  const value = process.env.SEAPO_FROZEN_BF16;
  if (value === "1") return true;
  if (value === undefined || value === "" || value === "0") return false;
  throw new Error(`SEAPO_FROZEN_BF16 must be 0 or 1, got "${value}"`);
}

export interface LoraOptions {
  rank: number;
  alpha: number;
  /** Dropout on the adapter's input while training (default 0). */
  dropout?: number;
  /** Seed for A's initialisation and the dropout masks (default 0). */
  seed?: number;
}

export class LoRALinear implements LinearLike {
  /** Dropout applies only while training; off by default so inference is deterministic. */
  training = false;
  /** When false the layer is its base alone (a reference model without a second copy). */
  enabled = true;
  readonly scaling: number;

  constructor(
    readonly base: Linear,
    readonly loraA: Tensor,
    readonly loraB: Tensor,
    alpha: number,
    readonly dropoutP = 0,
    private rng = new Rng(0),
  ) {
    const rank = loraA.shape[0]!;
    const shapesAgree =
      loraA.ndim === 2 &&
      loraB.ndim === 2 &&
      loraA.shape[1] === base.inFeatures &&
      loraB.shape[0] === base.outFeatures &&
      loraB.shape[1] === rank;
    if (!shapesAgree)
      throw new ShapeError("LoRALinear", "expected A [r, in] and B [out, r] for the base weight [out, in]", [
        loraA.shape,
        loraB.shape,
        base.weight.shape,
      ]);
    this.scaling = alpha / rank;
  }

  /**
   * Wraps a linear layer and freezes it. A is Kaiming-uniform (PEFT's default: U(±1/√in)), B is zero.
   */
  static fromLinear(linear: Linear, options: LoraOptions): LoRALinear {
    const { rank, alpha } = options;
    if (!(Number.isInteger(rank) && rank > 0)) throw new Error(`LoRA: rank must be a positive integer, got ${rank}`);
    const rng = new Rng(options.seed ?? 0);
    const bound = 1 / Math.sqrt(linear.inFeatures);
    const loraA = uniform([rank, linear.inFeatures], rng, -bound, bound, true);
    const loraB = zeros([linear.outFeatures, rank], true);
    linear.weight.requiresGrad = false;
    if (linear.bias) linear.bias.requiresGrad = false;
    // A bf16-valued base is kept as bf16 bits only (same results, half the bytes); with SEAPO_GEMM_BF16=1
    // it stays f32 and is marked for bf16 products instead (native/frozen.ts).
    if (requestedFrozenArithmetic() !== "f32" || !keepFrozenBf16() || !linear.keepBf16())
      markFrozenWeight(linear.weight.data);
    return new LoRALinear(linear, loraA, loraB, alpha, options.dropout ?? 0, rng.fork());
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  get rank(): number {
    return this.loraA.shape[0]!;
  }

  /** Restarts the dropout mask stream (a trainer reseeds per step so a resumed run draws the same masks). */
  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  forward(x: Tensor): Tensor {
    if (!this.enabled) return this.base.forward(x);
    if (!this.base.frozen)
      throw new Error("LoRALinear: the base layer must be frozen (LoRALinear.fromLinear freezes it)");
    const input = this.training ? dropout(x, this.dropoutP, this.rng) : x;
    const rows = x.reshape([-1, this.inFeatures]);
    const adapterInput = input === x ? rows : input.reshape([-1, this.inFeatures]);
    const y = loraLinear(rows, adapterInput, this.loraA, this.loraB, this.base, this.scaling);
    return y.reshape([...x.shape.slice(0, -1), this.outFeatures]);
  }

  /**
   * forward on raw buffers, without the tape or dropout (inference): the base's product plus
   * (α/r)·(x·Aᵀ)·Bᵀ; `scratch` holds at least rows × rank values; `packs` as for Linear.forwardInto.
   */
  forwardInto(x: Float32Array, rows: number, out: Float32Array, scratch: Float32Array, packs?: WeightPacks): void {
    this.base.forwardInto(x, rows, out, packs);
    if (!this.enabled) return;
    const adapter = { a: this.loraA.data, b: this.loraB.data, rank: this.rank, scaling: this.scaling };
    addLoraProduct(x, rows, adapter, out, scratch.subarray(0, rows * this.rank));
  }

  /** A plain Linear with W + (α/r)·B·A; the bias is carried over. */
  merge(): Linear {
    return noGrad(() => {
      const delta = ops.matmul(this.loraB, this.loraA); // (out, in)
      const weight = ops.add(this.base.weight, ops.mul(delta, this.scaling));
      const bias = this.base.bias ? new Tensor(this.base.bias.data.slice(), this.base.bias.shape) : null;
      return new Linear(new Tensor(weight.data, weight.shape), bias);
    });
  }

  /** Base parameters under their usual names, plus the adapter. */
  namedParameters(prefix: string): [string, Tensor][] {
    return [...this.base.namedParameters(prefix), ...this.adapterParameters(prefix)];
  }

  adapterParameters(prefix: string): [string, Tensor][] {
    return [
      [`${prefix}.lora_A.weight`, this.loraA],
      [`${prefix}.lora_B.weight`, this.loraB],
    ];
  }
}
