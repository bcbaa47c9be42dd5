import { gguf, type GgufMetadata, type GgufTensorType } from "../gguf/format.js";
import { writeGguf, type GgufTensorInput, type GgufWriteResult } from "../gguf/writer.js";
import type { ModelConfig, WeightMap } from "../models/config.js";
import { expectedShapes } from "../models/llama.js";
import { tokenizerMetadata } from "./gguf-tokenizer.js";
import type { HfTokenizer } from "./tokenizer.js";

/**
 * A Hugging Face model (config, HF-named weights, tokenizer) → a GGUF file that
 * llama.cpp runs, the way llama.cpp's convert_hf_to_gguf does it for Llama and Qwen2:
 *
 * - Tensor names: model.embed_tokens → token_embd, layers.N.self_attn.{q,k,v,o}_proj → blk.N.attn_{q,k,v,output},
 *   mlp.{gate,up,down}_proj → blk.N.ffn_{gate,up,down}, input/post_attention_layernorm → blk.N.attn_norm / ffn_norm,
 *   model.norm → output_norm, lm_head → output (absent when tied: llama.cpp then reuses token_embd).
 * - RoPE layout: Hugging Face rotates halves of each head (x[i] with x[i + d/2]); llama.cpp's `llama`
 *   rotates adjacent pairs (x[2i] with x[2i+1]). So for llama the rows of Q and K (and their biases) are
 *   permuted within each head: new row 2i + j ← old row j·d/2 + i (j ∈ {0, 1}). `qwen2` uses the
 *   rotate-half (NEOX) form in llama.cpp, and its weights are written as they are.
 * - Tokenizer: "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE with byte fallback), with
 *   special ids, add_bos and the chat template: see gguf-tokenizer.ts.
 */

export interface ExportGgufOptions {
  /** Type of the 2-D weights (default f16). Norms and biases are always f32; a q8_0 matrix whose rows are not a multiple of 32 falls back to f16. */
  type?: GgufTensorType;
  /** general.name (default "seapo-<architecture>"). */
  name?: string;
  /** tokenizer.ggml.pre; default: read from tokenizer.json's pre-tokenizer. */
  preTokenizer?: string;
}

export interface GgufExportModel {
  config: ModelConfig;
  weights: WeightMap;
  tokenizer: HfTokenizer;
}

const FILE_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 7 }; // llama_ftype ALL_F32, MOSTLY_F16, MOSTLY_Q8_0

const LAYER_NAMES: Record<string, string> = {
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  "mlp.gate_proj": "ffn_gate",
  "mlp.up_proj": "ffn_up",
  "mlp.down_proj": "ffn_down",
  input_layernorm: "attn_norm",
  post_attention_layernorm: "ffn_norm",
};
const TOP_NAMES: Record<string, string> = {
  "model.embed_tokens.weight": "token_embd.weight",
  "model.norm.weight": "output_norm.weight",
  "lm_head.weight": "output.weight",
};

/** The GGUF name of a Hugging Face tensor name. */
export function ggufTensorName(hfName: string): string {
  const top = TOP_NAMES[hfName];
  if (top !== undefined) return top;
  const match = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hfName);
  const mapped = match ? LAYER_NAMES[match[2]!] : undefined;
  if (!match || mapped === undefined) throw new RangeError(`ggufTensorName: no GGUF name for "${hfName}"`);
  return `blk.${match[1]}.${mapped}.${match[3]}`;
}

/**
 * Reorders the rows of a Q or K projection (weight [heads·d, in], or bias [heads·d]) from Hugging
 * Face's rotate-half layout to llama.cpp's adjacent-pair layout.
 */
export function permuteForLlamaRope(data: Float32Array, heads: number, headDim: number): Float32Array {
  const rows = heads * headDim;
  if (data.length % rows !== 0) throw new RangeError(`permuteForLlamaRope: ${data.length} values are not ${rows} rows`);
  const columns = data.length / rows;
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + j * half + i) * columns;
        const to = (h * headDim + 2 * i + j) * columns;
        out.set(data.subarray(from, from + columns), to);
      }
    }
  }
  return out;
}

/** Writes `model` as a GGUF file llama.cpp (and node-llama-cpp) loads. */
export async function exportGguf(
  model: GgufExportModel,
  path: string,
  options: ExportGgufOptions = {},
): Promise<GgufWriteResult> {
  const { config, weights, tokenizer } = model;
  const type = options.type ?? "f16";
  const arch = config.architecture;

  const tensors: GgufTensorInput[] = [];
  for (const [name, shape] of expectedShapes(config)) {
    const tensor = weights.get(name);
    if (tensor === undefined || tensor.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new RangeError(
        `exportGguf: tensor ${name} ${tensor ? "has the wrong size" : "is missing"} (expected [${shape.join(", ")}])`,
      );
    }
    let data = tensor.data;
    if (arch === "llama") {
      if (/\.self_attn\.q_proj\.(weight|bias)$/.test(name))
        data = permuteForLlamaRope(data, config.numHeads, config.headDim);
      if (/\.self_attn\.k_proj\.(weight|bias)$/.test(name))
        data = permuteForLlamaRope(data, config.numKvHeads, config.headDim);
    }
    const matrixType = type === "q8_0" && shape[shape.length - 1]! % 32 !== 0 ? "f16" : type;
    tensors.push({ name: ggufTensorName(name), shape, type: shape.length === 2 ? matrixType : "f32", data });
  }

  const metadata: GgufMetadata = {
    "general.architecture": arch,
    "general.name": options.name ?? `seapo-${arch}`,
    "general.file_type": gguf.u32(FILE_TYPE[type]),
    [`${arch}.vocab_size`]: gguf.u32(config.vocabSize),
    [`${arch}.context_length`]: gguf.u32(config.maxPositionEmbeddings),
    [`${arch}.embedding_length`]: gguf.u32(config.hiddenSize),
    [`${arch}.block_count`]: gguf.u32(config.numLayers),
    [`${arch}.feed_forward_length`]: gguf.u32(config.intermediateSize),
    [`${arch}.attention.head_count`]: gguf.u32(config.numHeads),
    [`${arch}.attention.head_count_kv`]: gguf.u32(config.numKvHeads),
    [`${arch}.attention.key_length`]: gguf.u32(config.headDim),
    [`${arch}.attention.value_length`]: gguf.u32(config.headDim),
    [`${arch}.rope.dimension_count`]: gguf.u32(config.headDim),
    [`${arch}.rope.freq_base`]: gguf.f32(config.ropeTheta),
    [`${arch}.attention.layer_norm_rms_epsilon`]: gguf.f32(config.rmsNormEps),
    ...tokenizerMetadata(tokenizer, config, options.preTokenizer),
  };
  return writeGguf(path, { metadata, tensors });
}
