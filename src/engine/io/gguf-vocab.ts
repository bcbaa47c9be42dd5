import { InputError } from "../../errors.js";
import { GGUF_TOKEN_TYPE, readGgufVocab, type GgufVocab } from "../gguf/read-vocab.js";
import { HfTokenizer, type TokenizerFiles } from "./tokenizer.js";

/**
 * A GGUF file's tokenizer as the tokenizer.json + tokenizer_config.json pair that HfTokenizer loads, for
 * llama.cpp's two common kinds (the same job transformers' GGUF loader does for its own tokenizers):
 *
 * - "llama" (SentencePiece with byte fallback): a BPE over "▁" pieces. llama.cpp joins the adjacent pair
 *   whose joined piece has the best score; the equivalent BPE lists, for every normal piece from the best
 *   score down, each split of it into two pieces of the vocabulary as a merge. Spaces become "▁", and
 *   "▁" is put in front when add_space_prefix (llama.cpp's default true) says so.
 * - "gpt2" (byte-level BPE): the file's own merges, and the pre-tokenizer llama.cpp uses for
 *   `tokenizer.ggml.pre`: its regexes applied in turn, each splitting every piece into matches and the
 *   text between them, then the byte-to-symbol map. Names outside PRE_TOKENIZERS are refused.
 *
 * Control (and unknown) tokens become special added tokens, user-defined tokens plain added ones, so
 * both are matched in text before the model runs, as in llama.cpp with special-token parsing on; with it
 * off llama.cpp still matches user-defined tokens but reads control-token text as plain text.
 */

const SPACE_MARK = "\u2581";

const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3_REGEX =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35_REGEX =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const STARCODER_REGEXES = ["\\p{N}", GPT2_REGEX];
const DEEPSEEK_CJK = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

interface PreTokenizerSpec {
  /** Applied in turn, as llama.cpp's regex_exprs (src/llama-vocab.cpp, llm_tokenizer_bpe). */
  regexes: readonly string[];
  /** A pre-token that is itself a token is taken whole (llama.cpp's ignore_merges). */
  ignoreMerges?: boolean;
  /** llama.cpp's add_bos default for this name (true for the Llama 3 family). */
  addBos?: boolean;
}

/** llama.cpp's byte-level BPE pre-tokenizers by `tokenizer.ggml.pre` name (the ones converted here). */
export const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = {
  default: { regexes: ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_REGEX, "\\p{N}+", "[0-9][0-9][0-9]"] },
  "gpt-2": { regexes: [GPT2_REGEX] },
  mpt: { regexes: [GPT2_REGEX] },
  olmo: { regexes: [GPT2_REGEX] },
  "llama-bpe": { regexes: [LLAMA3_REGEX], ignoreMerges: true, addBos: true },
  llama3: { regexes: [LLAMA3_REGEX], ignoreMerges: true, addBos: true },
  "llama-v3": { regexes: [LLAMA3_REGEX], ignoreMerges: true, addBos: true },
  "smaug-bpe": { regexes: [LLAMA3_REGEX] },
  dbrx: { regexes: [LLAMA3_REGEX] },
  qwen2: { regexes: [QWEN2_REGEX] },
  "deepseek-r1-qwen": { regexes: [QWEN2_REGEX] },
  stablelm2: { regexes: [QWEN2_REGEX] },
  qwen35: { regexes: [QWEN35_REGEX] },
  starcoder: { regexes: STARCODER_REGEXES },
  refact: { regexes: STARCODER_REGEXES },
  "command-r": { regexes: STARCODER_REGEXES },
  smollm: { regexes: STARCODER_REGEXES },
  falcon: {
    regexes: ["[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_REGEX, "[0-9][0-9][0-9]"],
  },
  "deepseek-coder": { regexes: ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", DEEPSEEK_CJK, "\\p{N}"] },
  "deepseek-llm": {
    regexes: [
      "[\r\n]",
      "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\u{10400}-\u{1044f}\u{104b0}-\u{104d3}\u{104d8}-\u{104fb}\u{10c80}-\u{10cb2}\u{10cc0}-\u{10cf2}\u{118a0}-\u{118df}\u{1e900}-\u{1e943}]+",
      "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
      "\\s+$",
      DEEPSEEK_CJK,
      "\\p{N}+",
    ],
  },
};

/** Loads a GGUF file's tokenizer (metadata only) as an HfTokenizer. */
export function loadGgufTokenizer(file: string): HfTokenizer {
  return new HfTokenizer(tokenizerFilesFromGguf(readGgufVocab(file)), file);
}

/** tokenizer.json + tokenizer_config.json for a GGUF vocabulary of kind "llama" or "gpt2". */
export function tokenizerFilesFromGguf(vocab: GgufVocab): TokenizerFiles {
  if (vocab.model === "llama") return sentencePieceFiles(vocab);
  if (vocab.model === "gpt2") return byteLevelFiles(vocab);
  throw new InputError(
    vocab.file,
    undefined,
    "tokenizer.ggml.model",
    `tokenizer model "${vocab.model}" is not supported (only "llama", SentencePiece, and "gpt2", byte-level BPE)`,
  );
}

function typeOf(vocab: GgufVocab, id: number): number {
  return vocab.tokenTypes?.[id] ?? GGUF_TOKEN_TYPE.normal;
}

/** Control and unknown tokens as special added tokens, user-defined ones as plain added tokens. */
function addedTokens(vocab: GgufVocab): Record<string, unknown>[] {
  const added: Record<string, unknown>[] = [];
  vocab.tokens.forEach((content, id) => {
    const type = typeOf(vocab, id);
    const special = type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.unknown;
    if (!special && type !== GGUF_TOKEN_TYPE.userDefined) return;
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special });
  });
  return added;
}

function vocabObject(tokens: readonly string[]): Record<string, number> {
  return Object.fromEntries(tokens.map((token, id) => [token, id]));
}

function configFor(vocab: GgufVocab, defaults: { addBos: boolean }): Record<string, unknown> {
  const text = (id: number | undefined): string | null => (id === undefined ? null : vocab.tokens[id]!);
  return {
    bos_token: text(vocab.bosTokenId),
    eos_token: text(vocab.eosTokenId),
    pad_token: text(vocab.paddingTokenId),
    unk_token: text(vocab.unknownTokenId),
    add_bos_token: vocab.bosTokenId !== undefined && (vocab.addBosToken ?? defaults.addBos),
    add_eos_token: vocab.eosTokenId !== undefined && (vocab.addEosToken ?? false),
    clean_up_tokenization_spaces: false,
    ...(vocab.chatTemplate === undefined ? {} : { chat_template: vocab.chatTemplate }),
  };
}

function byteLevelFiles(vocab: GgufVocab): TokenizerFiles {
  const pre = vocab.pre ?? "default";
  const spec = PRE_TOKENIZERS[pre];
  if (spec === undefined)
    throw new InputError(
      vocab.file,
      undefined,
      "tokenizer.ggml.pre",
      `pre-tokenizer "${pre}" is not supported (supported: ${Object.keys(PRE_TOKENIZERS).join(", ")})`,
    );
  if (vocab.merges === undefined)
    throw new InputError(vocab.file, undefined, "tokenizer.ggml.merges", "missing (a gpt2 tokenizer needs merges)");
  const splits = spec.regexes.map((regex) => ({
    type: "Split",
    pattern: { Regex: regex },
    behavior: "Isolated",
    invert: false,
  }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: "1.0",
    added_tokens: addedTokens(vocab),
    normalizer: null,
    pre_tokenizer: { type: "Sequence", pretokenizers: [...splits, byteLevel] },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: spec.ignoreMerges ?? false,
      vocab: vocabObject(vocab.tokens),
      merges: vocab.merges,
    },
  };
  return { tokenizerJson, tokenizerConfig: configFor(vocab, { addBos: spec.addBos ?? false }) };
}

function sentencePieceFiles(vocab: GgufVocab): TokenizerFiles {
  if (vocab.scores === undefined)
    throw new InputError(vocab.file, undefined, "tokenizer.ggml.scores", "missing (a llama tokenizer needs scores)");
  const prefix = vocab.addSpacePrefix ?? true;
  const replace = { type: "Replace", pattern: { String: " " }, content: SPACE_MARK };
  const unk = vocab.unknownTokenId === undefined ? null : vocab.tokens[vocab.unknownTokenId]!;
  const tokenizerJson = {
    version: "1.0",
    added_tokens: addedTokens(vocab),
    normalizer: prefix
      ? { type: "Sequence", normalizers: [{ type: "Prepend", prepend: SPACE_MARK }, replace] }
      : replace,
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE_MARK }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        ...(prefix ? [{ type: "Strip", content: " ", start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unk,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: vocabObject(vocab.tokens),
      merges: scoreMerges(vocab),
    },
  };
  return { tokenizerJson, tokenizerConfig: configFor(vocab, { addBos: true }) };
}

/**
 * Merges equivalent to joining the best-scoring pair: normal pieces from the highest score down (ties
 * by id), and for each every split into two pieces of the vocabulary, left part shortest first.
 */
export function scoreMerges(vocab: GgufVocab): [string, string][] {
  const scores = vocab.scores!;
  const ids = new Map<string, number>();
  vocab.tokens.forEach((token, id) => ids.set(token, id));
  const pieces = vocab.tokens
    .map((_, id) => id)
    .filter((id) => typeOf(vocab, id) === GGUF_TOKEN_TYPE.normal)
    .sort((a, b) => scores[b]! - scores[a]! || a - b);
  const merges: [string, string][] = [];
  for (const id of pieces) {
    const chars = Array.from(vocab.tokens[id]!);
    for (let cut = 1; cut < chars.length; cut++) {
      const left = chars.slice(0, cut).join("");
      const right = chars.slice(cut).join("");
      if (ids.has(left) && ids.has(right)) merges.push([left, right]);
    }
  }
  return merges;
}
