import { InputError } from "../../errors.js";
import { gguf, type GgufMetadata } from "../gguf/format.js";
import { GGUF_TOKEN_TYPE as TOKEN_TYPE } from "../gguf/read-vocab.js";
import type { ModelConfig } from "../models/config.js";
import type { HfTokenizer } from "./tokenizer.js";

/**
 * tokenizer.* metadata for GGUF, in the two forms llama.cpp reads:
 *
 * - "gpt2": byte-level BPE (GPT-2, Qwen, Llama 3): tokens, token types and merges, with a named pre-tokenizer.
 * - "llama": SentencePiece (Llama 2, Mistral v0.x, TinyLlama, llama2.c), as a tokenizer.json BPE over "▁"
 *   pieces with byte fallback. llama.cpp's SPM tokenizer merges the adjacent pair whose joined text is
 *   in the vocabulary with the highest *score*, so the scores must be written. Hugging Face converts
 *   a SentencePiece BPE model by listing merges in the order of their result's score; here the order
 *   is read back: the results of merges, by their first merge, then the other normal pieces by id,
 *   scored 0, -1, -2, … (SentencePiece's own BPE scores are minus the piece's rank, so for a converted
 *   model this gives back the original scores). Control, unknown and byte pieces score 0, as in
 *   SentencePiece. Byte pieces `<0xNN>` get llama.cpp's BYTE type, which its byte fallback looks up.
 *
 * Both pad the vocabulary with [PADn] tokens (type UNUSED) up to the config's vocab_size, since
 * llama.cpp wants one token per embedding row.
 */

const SOURCE = "tokenizer.json";
const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;
const SPACE_MARK = "\u2581"; // "▁", SentencePiece's whitespace
/** SentencePiece/converter score of padding and added pieces. */
const PAD_SCORE = -1000;

interface TokenizerJson {
  model?: { type?: string; merges?: unknown[]; byte_fallback?: boolean; unk_token?: string | null };
  normalizer?: JsonNode | null;
  pre_tokenizer?: JsonNode | null;
  decoder?: JsonNode | null;
  added_tokens?: { id: number; content: string; special?: boolean }[];
}
interface JsonNode {
  type?: string;
  [key: string]: unknown;
}

/** The tokenizer metadata for `tokenizer`, in whichever of llama.cpp's two forms it has. */
export function tokenizerMetadata(tokenizer: HfTokenizer, config: ModelConfig, preTokenizer?: string): GgufMetadata {
  const json = tokenizer.files.tokenizerJson as TokenizerJson;
  const kind = tokenizerKind(json);
  checkVocabularySize(tokenizer, config);
  const body =
    kind === "gpt2"
      ? byteLevelMetadata(tokenizer, config, json, preTokenizer)
      : sentencePieceMetadata(tokenizer, config, json);
  return { ...body, ...specialMetadata(tokenizer, config) };
}

/** "gpt2" for byte-level BPE, "llama" for SentencePiece-style BPE with byte fallback; anything else is refused. */
export function tokenizerKind(json: TokenizerJson): "gpt2" | "llama" {
  if (json.model?.type === "BPE" && json.decoder?.type === "ByteLevel") return "gpt2";
  if (json.model?.type === "BPE" && usesSpaceMark(json)) {
    if (json.model.byte_fallback !== true) {
      throw new InputError(
        SOURCE,
        undefined,
        "model.byte_fallback",
        "a SentencePiece-style tokenizer needs byte_fallback for GGUF (llama.cpp encodes unknown characters as <0xNN> pieces)",
      );
    }
    return "llama";
  }
  throw new InputError(
    SOURCE,
    undefined,
    "model",
    `GGUF export supports byte-level BPE and SentencePiece-style BPE tokenizers (got model ${json.model?.type}, decoder ${json.decoder?.type})`,
  );
}

function checkVocabularySize(tokenizer: HfTokenizer, config: ModelConfig): void {
  if (tokenizer.vocabSize > config.vocabSize)
    throw new InputError(
      SOURCE,
      undefined,
      "model.vocab",
      `${tokenizer.vocabSize} tokens exceed vocab_size ${config.vocabSize}`,
    );
}

/** Whether the tokenizer writes spaces as "▁" (a Replace normalizer or a Metaspace step). */
function usesSpaceMark(json: TokenizerJson): boolean {
  const steps = [...nodeSteps(json.normalizer), ...nodeSteps(json.pre_tokenizer), ...nodeSteps(json.decoder)];
  return steps.some(
    (step) =>
      step.type === "Metaspace" ||
      (step.type === "Replace" && (step.content === SPACE_MARK || stringPattern(step) === SPACE_MARK)),
  );
}

/** Whether "▁" is put in front of the text, which llama.cpp calls add_space_prefix. */
function addsSpacePrefix(json: TokenizerJson): boolean {
  if (nodeSteps(json.normalizer).some((step) => step.type === "Prepend" && step.prepend === SPACE_MARK)) return true;
  return nodeSteps(json.pre_tokenizer).some(
    (step) =>
      step.type === "Metaspace" &&
      step.add_prefix_space !== false &&
      step.prepend_scheme !== "never" &&
      step.prepend_scheme !== undefined,
  );
}

function nodeSteps(node: JsonNode | null | undefined): JsonNode[] {
  if (!node) return [];
  for (const key of ["normalizers", "pretokenizers", "decoders"]) {
    if (Array.isArray(node[key])) return node[key] as JsonNode[];
  }
  return [node];
}

function stringPattern(step: JsonNode): unknown {
  return (step.pattern as { String?: unknown } | undefined)?.String;
}

interface Vocabulary {
  tokens: string[];
  types: number[];
}

/** Tokens and types by id, padded to vocab_size; `typeOf` classifies the tokenizer's own tokens. */
function paddedVocabulary(
  tokenizer: HfTokenizer,
  config: ModelConfig,
  typeOf: (id: number, token: string) => number,
): Vocabulary {
  const vocabulary = tokenizer.vocabulary();
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < config.vocabSize; id++) {
    const token = vocabulary[id];
    tokens.push(token ?? `[PAD${id}]`);
    types.push(token === undefined ? TOKEN_TYPE.unused : typeOf(id, token));
  }
  return { tokens, types };
}

function addedIds(json: TokenizerJson): Set<number> {
  return new Set((json.added_tokens ?? []).map((token) => token.id));
}

function byteLevelMetadata(
  tokenizer: HfTokenizer,
  config: ModelConfig,
  json: TokenizerJson,
  preTokenizer: string | undefined,
): GgufMetadata {
  const special = tokenizer.specialIds();
  const added = addedIds(json);
  const { tokens, types } = paddedVocabulary(tokenizer, config, (id) =>
    special.has(id) ? TOKEN_TYPE.control : added.has(id) ? TOKEN_TYPE.userDefined : TOKEN_TYPE.normal,
  );
  return {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": preTokenizer ?? preTokenizerName(json.pre_tokenizer, SOURCE),
    "tokenizer.ggml.tokens": gguf.strings(tokens),
    "tokenizer.ggml.token_type": gguf.numbers("i32", types),
    "tokenizer.ggml.merges": gguf.strings(
      (json.model?.merges ?? []).map((merge) => (Array.isArray(merge) ? merge.join(" ") : String(merge))),
    ),
  };
}

function sentencePieceMetadata(tokenizer: HfTokenizer, config: ModelConfig, json: TokenizerJson): GgufMetadata {
  const special = tokenizer.specialIds();
  const added = addedIds(json);
  const unk = json.model?.unk_token ?? tokenizer.unkToken;
  const unkId = unk === undefined || unk === null ? undefined : tokenizer.tokenToId(unk);
  const { tokens, types } = paddedVocabulary(tokenizer, config, (id, token) => {
    if (id === unkId) return TOKEN_TYPE.unknown;
    if (special.has(id)) return TOKEN_TYPE.control;
    if (BYTE_PIECE.test(token)) return TOKEN_TYPE.byte;
    return added.has(id) ? TOKEN_TYPE.userDefined : TOKEN_TYPE.normal;
  });
  const scores = pieceScores(tokens, types, mergePairs(json));
  const metadata: GgufMetadata = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.pre": "default",
    "tokenizer.ggml.tokens": gguf.strings(tokens),
    "tokenizer.ggml.scores": gguf.numbers("f32", scores),
    "tokenizer.ggml.token_type": gguf.numbers("i32", types),
    "tokenizer.ggml.add_space_prefix": addsSpacePrefix(json),
  };
  if (unkId !== undefined) metadata["tokenizer.ggml.unknown_token_id"] = gguf.u32(unkId);
  return metadata;
}

/**
 * SentencePiece scores from the merge order (see the file comment): pieces made by merges first, by
 * their first merge, then the other normal pieces by id; 0, -1, -2, … in that order.
 */
export function pieceScores(
  tokens: readonly string[],
  types: readonly number[],
  merges: readonly [string, string][],
): number[] {
  const ids = new Map(tokens.map((token, id) => [token, id]));
  const ranked: number[] = [];
  const seen = new Set<number>();
  const rank = (id: number | undefined): void => {
    if (id !== undefined && types[id] === TOKEN_TYPE.normal && !seen.has(id)) {
      seen.add(id);
      ranked.push(id);
    }
  };
  for (const [left, right] of merges) rank(ids.get(left + right));
  tokens.forEach((_, id) => rank(id));
  const scores = types.map((type): number =>
    type === TOKEN_TYPE.unused || type === TOKEN_TYPE.userDefined ? PAD_SCORE : 0,
  );
  ranked.forEach((id, position) => (scores[id] = -position));
  return scores;
}

/** Merges as pairs; tokenizer.json writes each as "left right" or as [left, right]. */
function mergePairs(json: TokenizerJson): [string, string][] {
  return (json.model?.merges ?? []).map((merge, index) => {
    if (Array.isArray(merge) && merge.length === 2) return [String(merge[0]), String(merge[1])];
    const parts = typeof merge === "string" ? merge.split(" ") : [];
    if (parts.length !== 2) throw new InputError(SOURCE, undefined, `model.merges[${index}]`, "a merge is two tokens");
    return [parts[0]!, parts[1]!];
  });
}

/** BOS/EOS/padding ids, add_bos/add_eos and the chat template: the same keys for both forms. */
function specialMetadata(tokenizer: HfTokenizer, config: ModelConfig): GgufMetadata {
  const metadata: GgufMetadata = {
    "tokenizer.ggml.add_bos_token": tokenizer.addsBos,
    "tokenizer.ggml.add_eos_token":
      tokenizer.eosTokenId !== undefined && tokenizer.suffixIds.includes(tokenizer.eosTokenId),
  };
  const bos = tokenizer.bosTokenId ?? config.bosTokenId;
  const eos = tokenizer.eosTokenId ?? [config.eosTokenId ?? []].flat()[0];
  if (bos !== undefined) metadata["tokenizer.ggml.bos_token_id"] = gguf.u32(bos);
  if (eos !== undefined) metadata["tokenizer.ggml.eos_token_id"] = gguf.u32(eos);
  if (tokenizer.padTokenId !== undefined) metadata["tokenizer.ggml.padding_token_id"] = gguf.u32(tokenizer.padTokenId);
  if (tokenizer.chatTemplate !== undefined) metadata["tokenizer.chat_template"] = tokenizer.chatTemplate;
  return metadata;
}

/** Split patterns of the pre-tokenizers llama.cpp knows by name, as Hugging Face tokenizer.json files write them. */
const KNOWN_SPLITS: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    "qwen2",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    "llama-bpe",
};

/** llama.cpp's name for the tokenizer's pre-tokenizer: a plain ByteLevel is GPT-2's split; a Split + ByteLevel sequence is matched by its pattern. */
function preTokenizerName(preTokenizer: unknown, source: string): string {
  const node = preTokenizer as {
    type?: string;
    use_regex?: boolean;
    pretokenizers?: { type?: string; pattern?: { Regex?: string } }[];
  } | null;
  if (node?.type === "ByteLevel" && node.use_regex !== false) return "gpt-2";
  const pattern =
    node?.type === "Sequence" ? node.pretokenizers?.find((step) => step.type === "Split")?.pattern?.Regex : undefined;
  const name = pattern === undefined ? undefined : KNOWN_SPLITS[pattern];
  if (name === undefined) {
    throw new InputError(
      source,
      undefined,
      "pre_tokenizer",
      "llama.cpp has no pre-tokenizer name for this split pattern",
      'pass preTokenizer (e.g. "gpt-2", "qwen2", "llama-bpe")',
    );
  }
  return name;
}
