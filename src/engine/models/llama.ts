/**
 * Llama and Qwen2 decoders (Qwen2 = Llama + q/k/v biases, usually with tied embeddings).
 * Module and tensor names follow Hugging Face's `modeling_llama.py`, so parameter names are the
 * Hugging Face weights' names. Shapes: B batch, T tokens, C hidden size, H/Hkv query/key-value heads,
 * D head size, V vocabulary.
 */
import * as ops from "../ops.js";
import { ShapeError } from "../ops.js";
import { attention, attentionBias, flattenGrid, type Grid } from "../nn/functional.js";
import { Embedding, Linear, type LinearLike, RMSNorm } from "../nn/layers.js";
import { LoRALinear, type LoraOptions } from "../nn/lora.js";
import { formatShape, Tensor } from "../tensor.js";
import { checkModelConfig, type ModelConfig, type WeightMap } from "./config.js";

/** Rotary angles for one forward: cos and sin [B, T, D/2]. */
interface Rope {
  cos: Tensor;
  sin: Tensor;
}

/** Keys and values of earlier tokens, per layer: [B, Hkv, T_past, D]. */
export class KVCache {
  readonly layers: { k: Tensor | null; v: Tensor | null }[];

  constructor(numLayers: number) {
    this.layers = Array.from({ length: numLayers }, () => ({ k: null, v: null }));
  }

  /** Number of cached positions. */
  get length(): number {
    return this.layers[0]?.k?.shape[2] ?? 0;
  }
}

export class LlamaAttention {
  constructor(
    readonly config: ModelConfig,
    public q_proj: LinearLike,
    public k_proj: LinearLike,
    public v_proj: LinearLike,
    public o_proj: LinearLike,
  ) {}

  forward(x: Tensor, rope: Rope, bias: Tensor, cache?: { k: Tensor | null; v: Tensor | null }): Tensor {
    const [B, T] = x.shape as [number, number, number]; // (B, T, C)
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = this.config;
    const q = ops.rope(this.q_proj.forward(x).reshape([B, T, H, D]), rope.cos, rope.sin).transpose(1, 2); // (B, H, T, D)
    let k = ops.rope(this.k_proj.forward(x).reshape([B, T, Hkv, D]), rope.cos, rope.sin).transpose(1, 2); // (B, Hkv, T, D)
    let v = this.v_proj.forward(x).reshape([B, T, Hkv, D]).transpose(1, 2); // (B, Hkv, T, D)
    if (cache) {
      if (cache.k && cache.v) {
        k = ops.cat([cache.k, k], 2); // (B, Hkv, T_past + T, D)
        v = ops.cat([cache.v, v], 2);
      }
      cache.k = k;
      cache.v = v;
    }
    const y = attention(q, k, v, bias); // (B, H, T, D)
    return this.o_proj.forward(y.transpose(1, 2).reshape([B, T, H * D])); // (B, T, C)
  }
}

export class LlamaMLP {
  constructor(
    public gate_proj: LinearLike,
    public up_proj: LinearLike,
    public down_proj: LinearLike,
  ) {}

  forward(x: Tensor): Tensor {
    // SwiGLU: down(silu(gate(x)) · up(x)); (B, T, C) → (B, T, I) → (B, T, C)
    return this.down_proj.forward(ops.siluMul(this.gate_proj.forward(x), this.up_proj.forward(x)));
  }
}

export class LlamaDecoderLayer {
  constructor(
    readonly self_attn: LlamaAttention,
    readonly mlp: LlamaMLP,
    readonly input_layernorm: RMSNorm,
    readonly post_attention_layernorm: RMSNorm,
  ) {}

  forward(x: Tensor, rope: Rope, bias: Tensor, cache?: { k: Tensor | null; v: Tensor | null }): Tensor {
    const h = ops.add(x, this.self_attn.forward(this.input_layernorm.forward(x), rope, bias, cache)); // (B, T, C)
    return ops.add(h, this.mlp.forward(this.post_attention_layernorm.forward(h))); // (B, T, C)
  }
}

export interface ForwardOptions {
  /** [B, T_past + T]: 1 for real tokens, 0 for padding (left or right); default all ones. */
  attentionMask?: Grid;
  /** [B, T]; default cumsum(mask) − 1 over the whole mask, so left padding starts real tokens at 0. */
  positionIds?: Grid;
  /** Reads and extends the cache (generation). */
  cache?: KVCache;
  /** Keep only the last position's hidden state (prefill before sampling). */
  lastOnly?: boolean;
}

/** The linear layers LoRA can target, by their Hugging Face module names. */
export const LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface ApplyLoraOptions extends LoraOptions {
  /** Module names to wrap; default all linear layers of every block. */
  targets?: readonly LoraTarget[];
}

/** The shape of every tensor a weights folder of this config holds, by Hugging Face name. */
export function expectedShapes(config: ModelConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D } = config;
  const shapes = new Map<string, number[]>([["model.embed_tokens.weight", [V, C]]]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.self_attn.q_proj.weight`, [H * D, C]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [Hkv * D, C]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [Hkv * D, C]);
    if (config.attentionBias) {
      shapes.set(`${p}.self_attn.q_proj.bias`, [H * D]);
      shapes.set(`${p}.self_attn.k_proj.bias`, [Hkv * D]);
      shapes.set(`${p}.self_attn.v_proj.bias`, [Hkv * D]);
    }
    shapes.set(`${p}.self_attn.o_proj.weight`, [C, H * D]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [I, C]);
    shapes.set(`${p}.mlp.up_proj.weight`, [I, C]);
    shapes.set(`${p}.mlp.down_proj.weight`, [C, I]);
    shapes.set(`${p}.input_layernorm.weight`, [C]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [C]);
  }
  shapes.set("model.norm.weight", [C]);
  if (!config.tieWordEmbeddings) shapes.set("lm_head.weight", [V, C]);
  return shapes;
}

/** Checkpoint entries that carry no parameters and are skipped. */
function isIgnorable(name: string, config: ModelConfig): boolean {
  return name.endsWith("rotary_emb.inv_freq") || (config.tieWordEmbeddings && name === "lm_head.weight");
}

/** Rotary angles as Hugging Face computes them in float32: inv_freq_i = θ^(−2i/D), angle = pos · inv_freq_i. */
export function ropeAngles(positions: Float64Array, batch: number, seq: number, headDim: number, theta: number): Rope {
  const half = headDim / 2;
  const invFreq = Float64Array.from({ length: half }, (_, i) =>
    Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim))),
  );
  const cos = new Float32Array(batch * seq * half);
  const sin = new Float32Array(batch * seq * half);
  for (let bt = 0; bt < batch * seq; bt++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[bt]! * invFreq[i]!);
      cos[bt * half + i] = Math.cos(angle);
      sin[bt * half + i] = Math.sin(angle);
    }
  }
  return { cos: new Tensor(cos, [batch, seq, half]), sin: new Tensor(sin, [batch, seq, half]) };
}

/** Positions cumsum(mask) − 1 (0 on leading pads), the last `seq` of each row. */
export function positionsFromMask(mask: Float64Array, batch: number, keys: number, seq: number): Float64Array {
  const positions = new Float64Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let j = 0; j < keys; j++) {
      count += mask[b * keys + j]!;
      const t = j - (keys - seq);
      if (t >= 0) positions[b * seq + t] = Math.max(count - 1, 0);
    }
  }
  return positions;
}

export class LlamaModel {
  constructor(
    readonly config: ModelConfig,
    readonly embed_tokens: Embedding,
    readonly layers: LlamaDecoderLayer[],
    readonly norm: RMSNorm,
    /** null when the embeddings are tied. */
    readonly lm_head: Linear | null,
  ) {}

  /**
   * Builds the model from Hugging Face-named tensors, asserting every name and shape. The model
   * takes ownership of the buffers (the optimizer updates them in place). Parameters start frozen
   * unless `trainable` is set.
   */
  static fromWeights(config: ModelConfig, weights: WeightMap, options: { trainable?: boolean } = {}): LlamaModel {
    checkModelConfig(config);
    const expected = expectedShapes(config);
    for (const name of weights.keys()) {
      if (!expected.has(name) && !isIgnorable(name, config))
        throw new Error(`LlamaModel.fromWeights: unexpected tensor "${name}"`);
    }
    const take = (name: string): Tensor => {
      const entry = weights.get(name);
      const shape = expected.get(name)!;
      if (entry === undefined)
        throw new Error(`LlamaModel.fromWeights: missing tensor "${name}" ${formatShape(shape)}`);
      if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
        throw new Error(
          `LlamaModel.fromWeights: "${name}" has shape ${formatShape(entry.shape)}, expected ${formatShape(shape)}`,
        );
      }
      return new Tensor(entry.data, shape, { requiresGrad: options.trainable ?? false });
    };
    const linear = (name: string, bias: boolean): Linear =>
      new Linear(take(`${name}.weight`), bias ? take(`${name}.bias`) : null);
    const layers = Array.from({ length: config.numLayers }, (_, i) => {
      const p = `model.layers.${i}`;
      const qkvBias = config.attentionBias;
      const attn = new LlamaAttention(
        config,
        linear(`${p}.self_attn.q_proj`, qkvBias),
        linear(`${p}.self_attn.k_proj`, qkvBias),
        linear(`${p}.self_attn.v_proj`, qkvBias),
        linear(`${p}.self_attn.o_proj`, false),
      );
      const mlp = new LlamaMLP(
        linear(`${p}.mlp.gate_proj`, false),
        linear(`${p}.mlp.up_proj`, false),
        linear(`${p}.mlp.down_proj`, false),
      );
      const eps = config.rmsNormEps;
      return new LlamaDecoderLayer(
        attn,
        mlp,
        new RMSNorm(take(`${p}.input_layernorm.weight`), eps),
        new RMSNorm(take(`${p}.post_attention_layernorm.weight`), eps),
      );
    });
    return new LlamaModel(
      config,
      new Embedding(take("model.embed_tokens.weight")),
      layers,
      new RMSNorm(take("model.norm.weight"), config.rmsNormEps),
      config.tieWordEmbeddings ? null : linear("lm_head", false),
    );
  }

  /** Final hidden states after the last norm: ids [B, T] → (B, T, C), or (B, 1, C) with lastOnly. */
  hiddenStates(inputIds: readonly (readonly number[])[], options: ForwardOptions = {}): Tensor {
    const B = inputIds.length;
    const T = inputIds[0]?.length ?? 0;
    if (B === 0 || T === 0) throw new ShapeError("LlamaModel.forward", "input ids must be a non-empty [B, T] grid");
    const ids = flattenGrid("LlamaModel.forward", inputIds, B, T);
    const past = options.cache?.length ?? 0;
    const keys = past + T;
    const mask =
      options.attentionMask === undefined
        ? null
        : flattenGrid("LlamaModel.forward attentionMask", options.attentionMask, B, keys);
    const positions =
      options.positionIds !== undefined
        ? flattenGrid("LlamaModel.forward positionIds", options.positionIds, B, T)
        : positionsFromMask(mask ?? new Float64Array(B * keys).fill(1), B, keys, T);
    const rope = ropeAngles(positions, B, T, this.config.headDim, this.config.ropeTheta);
    const bias = attentionBias(mask, B, T, keys); // (B, 1, T, T_past + T)

    let x = this.embed_tokens.forward(ids, [B, T]); // (B, T, C)
    this.layers.forEach((layer, i) => {
      x = layer.forward(x, rope, bias, options.cache?.layers[i]);
    });
    if (options.lastOnly) x = ops.slice(x, 1, T - 1, T); // (B, 1, C)
    return this.norm.forward(x);
  }

  /** Hidden states (..., C) → logits (..., V). */
  logits(hidden: Tensor): Tensor {
    if (this.lm_head !== null) return this.lm_head.forward(hidden);
    const rows = hidden.reshape([-1, this.config.hiddenSize]);
    const logits = ops.matmul(rows, this.embed_tokens.weight, { transB: true });
    return logits.reshape([...hidden.shape.slice(0, -1), this.config.vocabSize]);
  }

  /** ids [B, T] → logits (B, T, V) (or (B, 1, V) with lastOnly). */
  forward(inputIds: readonly (readonly number[])[], options: ForwardOptions = {}): Tensor {
    return this.logits(this.hiddenStates(inputIds, options));
  }

  newCache(): KVCache {
    return new KVCache(this.config.numLayers);
  }

  /** Every parameter by Hugging Face name (adapters included, as `….lora_A.weight`). */
  namedParameters(): Map<string, Tensor> {
    const params = new Map<string, Tensor>(this.embed_tokens.namedParameters("model.embed_tokens"));
    this.layers.forEach((layer, i) => {
      for (const { path, linear } of this.linears(layer, i))
        for (const [key, t] of linear.namedParameters(path)) params.set(key, t);
      for (const [key, t] of layer.input_layernorm.namedParameters(`model.layers.${i}.input_layernorm`))
        params.set(key, t);
      for (const [key, t] of layer.post_attention_layernorm.namedParameters(
        `model.layers.${i}.post_attention_layernorm`,
      ))
        params.set(key, t);
    });
    for (const [key, t] of this.norm.namedParameters("model.norm")) params.set(key, t);
    if (this.lm_head) for (const [key, t] of this.lm_head.namedParameters("lm_head")) params.set(key, t);
    return params;
  }

  /** The parameters that currently require gradients. */
  trainableParameters(): Map<string, Tensor> {
    return new Map([...this.namedParameters()].filter(([, t]) => t.requiresGrad));
  }

  /** Freezes (or unfreezes) every parameter. */
  setTrainable(trainable: boolean): void {
    for (const t of this.namedParameters().values()) t.requiresGrad = trainable;
  }

  /** Turns LoRA dropout on (training) or off (evaluation and generation, the default). */
  train(training = true): void {
    this.layers.forEach((layer, i) => {
      for (const { linear } of this.linears(layer, i)) if (linear instanceof LoRALinear) linear.training = training;
    });
  }

  /** Switches every LoRA adapter on or off; off, the model computes its frozen base (the reference). */
  setAdaptersEnabled(enabled: boolean): void {
    this.layers.forEach((layer, i) => {
      for (const { linear } of this.linears(layer, i)) if (linear instanceof LoRALinear) linear.enabled = enabled;
    });
  }

  /** Reseeds every adapter's dropout stream from one seed (adapter k gets seed + k). */
  reseedAdapterDropout(seed: number): void {
    let k = 0;
    this.layers.forEach((layer, i) => {
      for (const { linear } of this.linears(layer, i)) if (linear instanceof LoRALinear) linear.reseed(seed + k++);
    });
  }

  /**
   * Freezes the model and wraps the target linear layers of every block in LoRA adapters
   * (each with its own seed derived from options.seed). Returns the adapter parameters by name.
   */
  applyLora(options: ApplyLoraOptions): Map<string, Tensor> {
    const targets = new Set<string>(options.targets ?? LORA_TARGETS);
    for (const target of targets) {
      if (!(LORA_TARGETS as readonly string[]).includes(target))
        throw new Error(`applyLora: unknown target "${target}"; expected one of ${LORA_TARGETS.join(", ")}`);
    }
    this.setTrainable(false);
    let seed = options.seed ?? 0;
    this.layers.forEach((layer, i) => {
      for (const { target, path, linear, replace } of this.linears(layer, i)) {
        if (!targets.has(target)) continue;
        if (!(linear instanceof Linear)) throw new Error(`applyLora: ${path} is already wrapped`);
        replace(LoRALinear.fromLinear(linear, { ...options, seed: seed++ }));
      }
    });
    return this.adapterParameters();
  }

  /** LoRA A/B tensors by PEFT-style name (what an adapter folder saves). */
  adapterParameters(): Map<string, Tensor> {
    const params = new Map<string, Tensor>();
    this.layers.forEach((layer, i) => {
      for (const { path, linear } of this.linears(layer, i)) {
        if (linear instanceof LoRALinear) for (const [key, t] of linear.adapterParameters(path)) params.set(key, t);
      }
    });
    return params;
  }

  /** Folds every LoRA adapter into its base weight, leaving plain Linear layers. */
  mergeLora(): void {
    this.layers.forEach((layer, i) => {
      for (const { linear, replace } of this.linears(layer, i))
        if (linear instanceof LoRALinear) replace(linear.merge());
    });
  }

  /**
   * Copies tensors into the parameters of the same name (e.g. saved adapters after applyLora, or a whole
   * weights folder), asserting each shape. Every name must be a parameter of the model.
   */
  loadParameters(weights: WeightMap): void {
    const params = this.namedParameters();
    for (const [name, { shape, data }] of weights) {
      const p = params.get(name);
      if (p === undefined) throw new Error(`loadParameters: the model has no parameter "${name}"`);
      if (shape.length !== p.ndim || shape.some((d, i) => d !== p.shape[i]) || data.length !== p.size) {
        throw new Error(
          `loadParameters: "${name}" has shape ${formatShape(shape)}, the parameter ${formatShape(p.shape)}`,
        );
      }
      p.data.set(data);
    }
  }

  /** The model's tensors by Hugging Face name, without adapters (merge first to include them). */
  weights(): WeightMap {
    const out: WeightMap = new Map();
    for (const [name, t] of this.namedParameters())
      if (!name.includes(".lora_")) out.set(name, { shape: [...t.shape], data: t.data });
    return out;
  }

  /** The seven linear layers of block i, with their Hugging Face paths and a way to swap each. */
  private linears(
    layer: LlamaDecoderLayer,
    i: number,
  ): { target: LoraTarget; path: string; linear: LinearLike; replace: (next: LinearLike) => void }[] {
    const { self_attn: a, mlp } = layer;
    const attn = `model.layers.${i}.self_attn`;
    const ff = `model.layers.${i}.mlp`;
    return [
      { target: "q_proj", path: `${attn}.q_proj`, linear: a.q_proj, replace: (l) => (a.q_proj = l) },
      { target: "k_proj", path: `${attn}.k_proj`, linear: a.k_proj, replace: (l) => (a.k_proj = l) },
      { target: "v_proj", path: `${attn}.v_proj`, linear: a.v_proj, replace: (l) => (a.v_proj = l) },
      { target: "o_proj", path: `${attn}.o_proj`, linear: a.o_proj, replace: (l) => (a.o_proj = l) },
      { target: "gate_proj", path: `${ff}.gate_proj`, linear: mlp.gate_proj, replace: (l) => (mlp.gate_proj = l) },
      { target: "up_proj", path: `${ff}.up_proj`, linear: mlp.up_proj, replace: (l) => (mlp.up_proj = l) },
      { target: "down_proj", path: `${ff}.down_proj`, linear: mlp.down_proj, replace: (l) => (mlp.down_proj = l) },
    ];
  }
}
