import { InputError } from "../../errors.js";
import type { GgufValue } from "./format.js";
import { readGgufMetadata } from "./read-metadata.js";

/**
 * A GGUF file's tokenizer, as llama.cpp stores it under `tokenizer.ggml.*`: the model kind ("llama" for
 * SentencePiece, "gpt2" for byte-level BPE, …), the pre-tokenizer name, tokens with scores and types,
 * merges, the special ids and the add_bos / add_eos / add_space_prefix flags. A key stored with the
 * wrong type is refused, naming the file and the key; an absent optional key is undefined (llama.cpp's
 * defaults for it are the caller's business).
 */

/** llama.cpp's llama_token_type values, as GGUF's tokenizer.ggml.token_type stores them. */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface GgufVocab {
  /** The file it was read from (named in errors). */
  file: string;
  /** tokenizer.ggml.model: "llama", "gpt2", "bert", "t5", … */
  model: string;
  /** tokenizer.ggml.pre: llama.cpp's pre-tokenizer name ("default", "qwen2", "llama-bpe", …). */
  pre: string | undefined;
  tokens: string[];
  scores: number[] | undefined;
  /** One GGUF_TOKEN_TYPE per token. */
  tokenTypes: number[] | undefined;
  /** "left right" strings, in rank order. */
  merges: string[] | undefined;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  unknownTokenId: number | undefined;
  paddingTokenId: number | undefined;
  addBosToken: boolean | undefined;
  addEosToken: boolean | undefined;
  addSpacePrefix: boolean | undefined;
  chatTemplate: string | undefined;
}

const PREFIX = "tokenizer.ggml.";

/** Reads the tokenizer of a GGUF file (metadata only; tensor data is never read). */
export function readGgufVocab(file: string): GgufVocab {
  return vocabFromMetadata(readGgufMetadata(file).metadata, file);
}

/** The tokenizer in already-read GGUF metadata; `file` names the source in errors. */
export function vocabFromMetadata(metadata: Record<string, GgufValue>, file: string): GgufVocab {
  const key = (name: string): string => PREFIX + name;
  const model = stringValue(metadata, key("model"), file);
  if (model === undefined) throw new InputError(file, undefined, key("model"), "missing: this GGUF has no tokenizer");
  const tokens = stringArray(metadata, key("tokens"), file);
  if (tokens === undefined) throw new InputError(file, undefined, key("tokens"), "missing");
  const vocab: GgufVocab = {
    file,
    model,
    pre: stringValue(metadata, key("pre"), file),
    tokens,
    scores: numberArray(metadata, key("scores"), file),
    tokenTypes: numberArray(metadata, key("token_type"), file),
    merges: stringArray(metadata, key("merges"), file),
    bosTokenId: tokenId(metadata, key("bos_token_id"), file, tokens.length),
    eosTokenId: tokenId(metadata, key("eos_token_id"), file, tokens.length),
    unknownTokenId: tokenId(metadata, key("unknown_token_id"), file, tokens.length),
    paddingTokenId: tokenId(metadata, key("padding_token_id"), file, tokens.length),
    addBosToken: boolValue(metadata, key("add_bos_token"), file),
    addEosToken: boolValue(metadata, key("add_eos_token"), file),
    addSpacePrefix: boolValue(metadata, key("add_space_prefix"), file),
    chatTemplate: stringValue(metadata, "tokenizer.chat_template", file),
  };
  for (const [name, list] of [
    ["scores", vocab.scores],
    ["token_type", vocab.tokenTypes],
  ] as const) {
    if (list !== undefined && list.length !== tokens.length)
      throw new InputError(file, undefined, key(name), `${list.length} entries for ${tokens.length} tokens`);
  }
  return vocab;
}

function wrongType(file: string, key: string, expected: string, value: GgufValue): InputError {
  const got = value.type === "array" ? `array of ${value.itemType}` : value.type;
  return new InputError(file, undefined, key, `expected ${expected}, got ${got}`);
}

function stringValue(metadata: Record<string, GgufValue>, key: string, file: string): string | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (value.type !== "string") throw wrongType(file, key, "a string", value);
  return value.value;
}

function boolValue(metadata: Record<string, GgufValue>, key: string, file: string): boolean | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (value.type !== "bool") throw wrongType(file, key, "a bool", value);
  return value.value;
}

function stringArray(metadata: Record<string, GgufValue>, key: string, file: string): string[] | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (value.type !== "array" || value.itemType !== "string") throw wrongType(file, key, "an array of strings", value);
  return value.value as string[];
}

const NUMBER_ITEMS = new Set(["u8", "i8", "u16", "i16", "u32", "i32", "f32", "f64"]);

function numberArray(metadata: Record<string, GgufValue>, key: string, file: string): number[] | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (value.type !== "array" || !NUMBER_ITEMS.has(value.itemType))
    throw wrongType(file, key, "an array of numbers", value);
  return value.value as number[];
}

function tokenId(metadata: Record<string, GgufValue>, key: string, file: string, count: number): number | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (value.type === "array" || value.type === "string" || value.type === "bool")
    throw wrongType(file, key, "an integer token id", value);
  const id = Number(value.value);
  if (!Number.isInteger(id) || id < 0 || id >= count)
    throw new InputError(file, undefined, key, `token id ${id} is outside the vocabulary (${count} tokens)`);
  return id;
}
