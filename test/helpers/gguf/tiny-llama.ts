import { gguf, type GgufMetadata, type GgufTensorType } from "../../../src/engine/gguf/format.js";
import { writeGguf, type GgufTensorInput } from "../../../src/engine/gguf/writer.js";
import { CHATML_TEMPLATE, gpt2ByteSymbols } from "../../../src/engine/io/byte-symbols.js";

export { CHATML_TEMPLATE, gpt2ByteSymbols };

/**
 * A tiny Llama-architecture GGUF with seeded random weights and a GPT-2-style byte-level BPE
 * vocabulary with ChatML specials: small enough to write in a fraction of a second, real enough for
 * llama.cpp to load, tokenize any UTF-8 text, apply the chat template, generate and score.
 *
 * The output rows of every token that is not printable ASCII (or a newline) are zero, so their
 * logit is 0 while printable tokens spread around it with a standard deviation of about 3: generated
 * text stays readable ASCII and generation only stops at maxTokens or a stop string.
 */

export interface TinyLlamaOptions {
  seed: number;
  /** The only vocabulary so far: the 256 GPT-2 byte symbols, a few merges and the specials. */
  vocab?: "bytes";
  nLayer?: number;
  nEmbd?: number;
  nHead?: number;
  nHeadKv?: number;
  nFf?: number;
  contextLength?: number;
  /** Type of the 2-D weights; norms are always f32. */
  type?: GgufTensorType;
  /** tokenizer.ggml.add_bos_token. Default false, as in Qwen's ChatML models. */
  addBos?: boolean;
}

export interface TinyLlamaResult {
  bytes: number;
  vocabSize: number;
  /** Token ids of the specials. */
  special: { endOfText: number; imStart: number; imEnd: number };
}

/** A handful of merges over GPT-2 byte symbols ("Ġ" is the space). Each result becomes a token. */
const MERGES: ReadonlyArray<readonly [string, string]> = [
  ["Ġ", "t"],
  ["h", "e"],
  ["i", "n"],
  ["e", "r"],
  ["Ġ", "a"],
  ["o", "n"],
  ["Ġt", "he"],
  ["r", "e"],
  ["a", "n"],
  ["Ġ", "s"],
  ["a", "t"],
  ["Ġ", "c"],
];
const SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;

const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_CONTROL = 3;
const FILE_TYPE: Record<GgufTensorType, number> = { f32: 0, f16: 1, q8_0: 7 }; // llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_Q8_0

export async function writeTinyLlamaGguf(path: string, options: TinyLlamaOptions): Promise<TinyLlamaResult> {
  const {
    seed,
    nLayer = 2,
    nEmbd = 64,
    nHead = 4,
    nHeadKv = 2,
    nFf = 128,
    contextLength = 256,
    type = "f32",
    addBos = false,
  } = options;
  if (nEmbd % nHead !== 0 || nHead % nHeadKv !== 0) {
    throw new RangeError(
      `tiny llama: nEmbd (${nEmbd}) must divide by nHead (${nHead}), and nHead by nHeadKv (${nHeadKv})`,
    );
  }
  const headDim = nEmbd / nHead;
  const vocab = buildByteVocabulary();
  const nVocab = vocab.tokens.length;
  const random = normalSampler(seed);

  // Projections keep unit scale (std 1/sqrt(fan_in)); embeddings have std 1; the output head std 3/sqrt(nEmbd),
  // so after the final RMS norm the logits spread with std ~3 and the distributions are peaked, not flat.
  const matrix = (rows: number, columns: number, std = 1 / Math.sqrt(columns)): Float32Array => {
    const values = new Float32Array(rows * columns);
    for (let i = 0; i < values.length; i++) values[i] = random() * std;
    return values;
  };
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
  const weight = (name: string, shape: [number, number], data: Float32Array): GgufTensorInput => ({
    name,
    shape,
    type,
    data,
  });
  const norm = (name: string, n: number): GgufTensorInput => ({ name, shape: [n], type: "f32", data: ones(n) });

  // Shapes are Hugging Face's [out, in]; the embedding is [vocab, embd].
  const tensors: GgufTensorInput[] = [weight("token_embd.weight", [nVocab, nEmbd], matrix(nVocab, nEmbd, 1))];
  for (let layer = 0; layer < nLayer; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      norm(`${block}.attn_norm.weight`, nEmbd),
      weight(`${block}.attn_q.weight`, [nHead * headDim, nEmbd], matrix(nHead * headDim, nEmbd)),
      weight(`${block}.attn_k.weight`, [nHeadKv * headDim, nEmbd], matrix(nHeadKv * headDim, nEmbd)),
      weight(`${block}.attn_v.weight`, [nHeadKv * headDim, nEmbd], matrix(nHeadKv * headDim, nEmbd)),
      weight(`${block}.attn_output.weight`, [nEmbd, nHead * headDim], matrix(nEmbd, nHead * headDim)),
      norm(`${block}.ffn_norm.weight`, nEmbd),
      weight(`${block}.ffn_gate.weight`, [nFf, nEmbd], matrix(nFf, nEmbd)),
      weight(`${block}.ffn_up.weight`, [nFf, nEmbd], matrix(nFf, nEmbd)),
      weight(`${block}.ffn_down.weight`, [nEmbd, nFf], matrix(nEmbd, nFf)),
    );
  }
  const output = matrix(nVocab, nEmbd, 3 / Math.sqrt(nEmbd));
  vocab.printable.forEach((printable, token) => {
    if (!printable) output.fill(0, token * nEmbd, (token + 1) * nEmbd);
  });
  tensors.push(norm("output_norm.weight", nEmbd), weight("output.weight", [nVocab, nEmbd], output));

  const endOfText = vocab.tokens.indexOf("<|endoftext|>");
  const imStart = vocab.tokens.indexOf("<|im_start|>");
  const imEnd = vocab.tokens.indexOf("<|im_end|>");
  const metadata: GgufMetadata = {
    "general.architecture": "llama",
    "general.name": `seapo-tiny-llama-seed${seed}`,
    "general.file_type": gguf.u32(FILE_TYPE[type]),
    "llama.vocab_size": gguf.u32(nVocab),
    "llama.context_length": gguf.u32(contextLength),
    "llama.embedding_length": gguf.u32(nEmbd),
    "llama.block_count": gguf.u32(nLayer),
    "llama.feed_forward_length": gguf.u32(nFf),
    "llama.attention.head_count": gguf.u32(nHead),
    "llama.attention.head_count_kv": gguf.u32(nHeadKv),
    "llama.rope.dimension_count": gguf.u32(headDim),
    "llama.rope.freq_base": gguf.f32(10000),
    "llama.attention.layer_norm_rms_epsilon": gguf.f32(1e-5),
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "gpt-2",
    "tokenizer.ggml.tokens": gguf.strings(vocab.tokens),
    "tokenizer.ggml.token_type": gguf.numbers("i32", vocab.tokenTypes),
    "tokenizer.ggml.merges": gguf.strings(MERGES.map(([left, right]) => `${left} ${right}`)),
    "tokenizer.ggml.bos_token_id": gguf.u32(endOfText),
    "tokenizer.ggml.eos_token_id": gguf.u32(imEnd),
    "tokenizer.ggml.padding_token_id": gguf.u32(endOfText),
    "tokenizer.ggml.add_bos_token": addBos,
    "tokenizer.chat_template": CHATML_TEMPLATE,
  };
  const { bytes } = await writeGguf(path, { metadata, tensors });
  return { bytes, vocabSize: nVocab, special: { endOfText, imStart, imEnd } };
}

function buildByteVocabulary(): { tokens: string[]; tokenTypes: number[]; printable: boolean[] } {
  const symbols = gpt2ByteSymbols();
  const tokens = [...symbols];
  const printable = symbols.map((_, byte) => (byte >= 0x20 && byte <= 0x7e) || byte === 0x0a);
  for (const [left, right] of MERGES) {
    if (!tokens.includes(left) || !tokens.includes(right))
      throw new Error(`tiny llama: merge ${left} ${right} uses an unknown symbol`);
    tokens.push(left + right);
    printable.push(true); // every merge above joins printable ASCII symbols
  }
  const tokenTypes = tokens.map(() => TOKEN_TYPE_NORMAL);
  for (const special of SPECIALS) {
    tokens.push(special);
    tokenTypes.push(TOKEN_TYPE_CONTROL);
    printable.push(false);
  }
  return { tokens, tokenTypes, printable };
}

/** Seeded standard normals: a 32-bit mulberry generator feeding Box-Muller. */
function normalSampler(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
