/**
 * One-token decode steps on raw buffers. After the prompt has run through LlamaModel.forward (which
 * fills a KVCache), each further token of generation is a [B, 1] forward. Through the Tensor ops that
 * step allocates some hundred small tensors and copies the whole cache (ops.cat) every time; here it
 * runs the same arithmetic through the backend's kernels into buffers allocated once per generation,
 * with the keys and values written in place into a cache sized for the whole generation.
 *
 * The results are the Tensor path's to float32 rounding: the same kernels (gemm, rmsnorm, rope,
 * softmax, siluMul), the same masking of left padding and the same positions (cumsum(mask) − 1).
 */
import { backend } from "../backend.js";
import { Linear, type LinearLike } from "../nn/layers.js";
import { LoRALinear } from "../nn/lora.js";
import { WeightPacks } from "../packed-weights.js";
import type { KVCache, LlamaModel } from "./llama.js";
import { ropeAngles } from "./llama.js";

/** What the fast path can run: plain or LoRA linear layers over float32 weights. */
function supportedLinear(layer: LinearLike): boolean {
  if (layer instanceof Linear) return true; // f32 or bf16-held weights (forwardInto takes either)
  return layer instanceof LoRALinear && layer.dropoutP === 0 && supportedLinear(layer.base);
}

function linearsOf(model: LlamaModel): LinearLike[] {
  return model.layers.flatMap(({ self_attn: a, mlp: m }) => [
    a.q_proj,
    a.k_proj,
    a.v_proj,
    a.o_proj,
    m.gate_proj,
    m.up_proj,
    m.down_proj,
  ]);
}

export function decodeSupported(model: LlamaModel): boolean {
  return linearsOf(model).every(supportedLinear);
}

/** The fast path's buffers and packed weights, for linearInto. */
interface LinearWork {
  low: Float32Array;
  packs: WeightPacks;
}

/** out[rows, outFeatures] = the layer applied to x[rows, inFeatures] (decodeSupported vouched for its kind). */
function linearInto(layer: LinearLike, x: Float32Array, rows: number, out: Float32Array, work: LinearWork) {
  if (layer instanceof LoRALinear) layer.forwardInto(x, rows, out, work.low, work.packs);
  else (layer as Linear).forwardInto(x, rows, out, work.packs);
}

export class DecodeSession {
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  /** Cache positions in use (the same for every row: padding is masked, not skipped). */
  private length: number;
  private readonly buffers: Buffers;
  /** linearInto's scratch and the weights, packed at their first product of the session. */
  private readonly work: LinearWork;
  /** Each row's next position id (a copy: the session advances it). */
  private readonly positions: Float64Array;

  /**
   * Takes over the cache the prompt's forward filled. `padding[b]` is the number of leading pad
   * positions of row b, `positions[b]` the position id its next token gets.
   */
  constructor(
    private readonly model: LlamaModel,
    cache: KVCache,
    private readonly batch: number,
    private readonly padding: readonly number[],
    positions: readonly number[],
    maxNewTokens: number,
  ) {
    this.positions = Float64Array.from(positions);
    const { numKvHeads: Hkv, headDim: D, numHeads: H, hiddenSize: C, intermediateSize: I } = model.config;
    this.length = cache.length;
    const capacity = this.length + maxNewTokens;
    this.keys = cache.layers.map((layer) => this.widen(layer.k!.data, capacity));
    this.values = cache.layers.map((layer) => this.widen(layer.v!.data, capacity));
    const maxRank = Math.max(1, ...linearsOf(model).map((l) => (l instanceof LoRALinear ? l.rank : 0)));
    this.buffers = allocate(batch, { C, H, Hkv, D, I, V: model.config.vocabSize, capacity, maxRank });
    this.work = { low: this.buffers.low, packs: new WeightPacks() };
  }

  /** [B, Hkv, T, D] → [B, Hkv, capacity, D] with the first T positions filled. */
  private widen(data: Float32Array, capacity: number): Float32Array {
    const { numKvHeads: Hkv, headDim: D } = this.model.config;
    const out = new Float32Array(this.batch * Hkv * capacity * D);
    const rowsBefore = this.length * D;
    for (let bh = 0; bh < this.batch * Hkv; bh++)
      out.set(data.subarray(bh * rowsBefore, (bh + 1) * rowsBefore), bh * capacity * D);
    return out;
  }

  private get capacity(): number {
    return this.keys[0]!.length / (this.batch * this.model.config.numKvHeads * this.model.config.headDim);
  }

  /** Feeds one token per row; returns the next-token logits [B, V] (a buffer reused by the next call). */
  step(tokens: readonly number[]): Float32Array {
    const { config } = this.model;
    const C = config.hiddenSize;
    const { x } = this.buffers;
    const table = this.model.embed_tokens.weight.data;
    tokens.forEach((token, b) => x.set(table.subarray(token * C, (token + 1) * C), b * C));
    const rope = ropeAngles(this.positions, this.batch, 1, config.headDim, config.ropeTheta);
    this.model.layers.forEach((_, i) => this.layer(i, rope.cos.data, rope.sin.data));
    this.length += 1;
    for (let b = 0; b < this.batch; b++) this.positions[b]! += 1;
    return this.logits();
  }

  private layer(i: number, cos: Float32Array, sin: Float32Array): void {
    const k = backend();
    const { x, h, q, qr, k: key, kr, v, y, o, gate, up } = this.buffers;
    const work = this.work;
    const layer = this.model.layers[i]!;
    const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D } = this.model.config;
    const B = this.batch;
    const attn = layer.self_attn;
    k.rmsnorm(x, layer.input_layernorm.weight.data, h, B, C, layer.input_layernorm.eps);
    linearInto(attn.q_proj, h, B, q, work);
    linearInto(attn.k_proj, h, B, key, work);
    linearInto(attn.v_proj, h, B, v, work);
    k.rope(q, cos, sin, qr, { batch: B, seq: 1, heads: H, half: D / 2 });
    k.rope(key, cos, sin, kr, { batch: B, seq: 1, heads: Hkv, half: D / 2 });
    this.append(i, kr, v);
    this.attend(i, qr, y);
    linearInto(attn.o_proj, y, B, o, work);
    for (let j = 0; j < B * C; j++) x[j]! += o[j]!;
    k.rmsnorm(x, layer.post_attention_layernorm.weight.data, h, B, C, layer.post_attention_layernorm.eps);
    linearInto(layer.mlp.gate_proj, h, B, gate, work);
    linearInto(layer.mlp.up_proj, h, B, up, work);
    k.siluMul(gate, up, gate);
    linearInto(layer.mlp.down_proj, gate, B, o, work);
    for (let j = 0; j < B * C; j++) x[j]! += o[j]!;
  }

  /** Writes the step's keys and values ([B, Hkv, D]) at cache position `length`. */
  private append(i: number, keys: Float32Array, values: Float32Array): void {
    const { numKvHeads: Hkv, headDim: D } = this.model.config;
    const capacity = this.capacity;
    for (let bh = 0; bh < this.batch * Hkv; bh++) {
      const at = (bh * capacity + this.length) * D;
      this.keys[i]!.set(keys.subarray(bh * D, (bh + 1) * D), at);
      this.values[i]!.set(values.subarray(bh * D, (bh + 1) * D), at);
    }
  }

  /** y[B, H, D] = softmax(q·Kᵀ/√D, pads masked)·V over the cache, the G query heads of a kv head together. */
  private attend(i: number, q: Float32Array, y: Float32Array): void {
    const k = backend();
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = this.model.config;
    const G = H / Hkv;
    const L = this.length + 1;
    const capacity = this.capacity;
    const scores = this.buffers.scores.subarray(0, this.batch * H * L);
    const grouped = { batch: this.batch * Hkv, m: G, strideB: capacity * D };
    k.gemm(q, this.keys[i]!, scores, {
      ...grouped,
      n: L,
      k: D,
      transB: true,
      alpha: 1 / Math.sqrt(D),
      strideA: G * D,
      strideC: G * L,
    });
    for (let b = 0; b < this.batch; b++)
      for (let row = b * H; row < (b + 1) * H; row++) scores.fill(-Infinity, row * L, row * L + this.padding[b]!);
    k.softmax(scores, scores, this.batch * H, L);
    k.gemm(scores, this.values[i]!, y, { ...grouped, n: D, k: L, strideA: G * L, strideC: G * D });
  }

  private logits(): Float32Array {
    const k = backend();
    const { hiddenSize: C, vocabSize: V } = this.model.config;
    const { x, h, logits } = this.buffers;
    k.rmsnorm(x, this.model.norm.weight.data, h, this.batch, C, this.model.norm.eps);
    const weight = this.model.lm_head?.weight.data ?? this.model.embed_tokens.weight.data;
    this.work.packs.multiply(h, weight, logits, { m: this.batch, n: V, k: C });
    return logits;
  }
}

interface Sizes {
  C: number;
  H: number;
  Hkv: number;
  D: number;
  I: number;
  V: number;
  capacity: number;
  maxRank: number;
}

/** The step's working buffers, each sized for the batch: written by one step, read by the next op. */
function allocate(B: number, { C, H, Hkv, D, I, V, capacity, maxRank }: Sizes) {
  const f32 = (n: number) => new Float32Array(n);
  return {
    x: f32(B * C),
    h: f32(B * C),
    q: f32(B * H * D),
    qr: f32(B * H * D),
    k: f32(B * Hkv * D),
    kr: f32(B * Hkv * D),
    v: f32(B * Hkv * D),
    y: f32(B * H * D),
    o: f32(B * C),
    gate: f32(B * I),
    up: f32(B * I),
    scores: f32(B * H * capacity),
    low: f32(B * maxRank),
    logits: f32(B * V),
  };
}
type Buffers = ReturnType<typeof allocate>;
