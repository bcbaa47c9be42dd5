import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gguf, type GgufMetadata } from "../../../src/engine/gguf/format.js";
import { readGgufMetadata } from "../../../src/engine/gguf/read-metadata.js";
import { readGgufVocab } from "../../../src/engine/gguf/read-vocab.js";
import { writeGguf } from "../../../src/engine/gguf/writer.js";
import { exportGguf } from "../../../src/engine/io/hf-to-gguf.js";
import { loadHfModel } from "../../../src/engine/io/hf-model.js";
import { presetModel, randomWeights } from "../../../src/engine/io/init.js";
import { loadGgufTokenizer } from "../../../src/engine/io/gguf-vocab.js";
import { HfTokenizer, loadTokenizer } from "../../../src/engine/io/tokenizer.js";
import { STORIES_HF, encodeReference } from "../real/stories260k.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-read-vocab-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

async function write(metadata: GgufMetadata): Promise<string> {
  const path = join(dir, `vocab-${count++}.gguf`);
  await writeGguf(path, { metadata: { "general.architecture": "llama", ...metadata }, tensors: [] });
  return path;
}

const tokens = ["<unk>", "<s>", "</s>", "\u2581a", "b", "Ünï ✓"];
const base: GgufMetadata = {
  "tokenizer.ggml.model": "llama",
  "tokenizer.ggml.pre": "default",
  "tokenizer.ggml.tokens": gguf.strings(tokens),
  "tokenizer.ggml.scores": gguf.numbers("f32", [0, 0, 0, -1.5, -2, -3]),
  "tokenizer.ggml.token_type": gguf.numbers("i32", [2, 3, 3, 1, 1, 4]),
  "tokenizer.ggml.bos_token_id": gguf.u32(1),
  "tokenizer.ggml.eos_token_id": gguf.u32(2),
  "tokenizer.ggml.unknown_token_id": gguf.u32(0),
  "tokenizer.ggml.add_bos_token": true,
  "tokenizer.ggml.add_space_prefix": false,
  "tokenizer.chat_template": "{{ messages }}",
};

describe("readGgufVocab", () => {
  it("reads every tokenizer key with its value", async () => {
    const path = await write(base);
    expect(readGgufVocab(path)).toEqual({
      file: path,
      model: "llama",
      pre: "default",
      tokens,
      scores: [0, 0, 0, -1.5, -2, -3],
      tokenTypes: [2, 3, 3, 1, 1, 4],
      merges: undefined,
      bosTokenId: 1,
      eosTokenId: 2,
      unknownTokenId: 0,
      paddingTokenId: undefined,
      addBosToken: true,
      addEosToken: undefined,
      addSpacePrefix: false,
      chatTemplate: "{{ messages }}",
    });
  });

  it("reads the same metadata as node-llama-cpp's own GGUF reader", async () => {
    const path = await write({ ...base, "tokenizer.ggml.merges": gguf.strings(["\u2581 a", "a b"]) });
    const ours = readGgufMetadata(path);
    const theirs = await readGgufFileInfo(path, { readTensorInfo: false, logWarnings: false });
    const ggml = (theirs.metadata as { tokenizer: { ggml: Record<string, unknown> } }).tokenizer.ggml;
    expect(ours.version).toBe(theirs.version);
    expect(ours.metadata["tokenizer.ggml.tokens"]!.value).toEqual(ggml.tokens);
    expect(ours.metadata["tokenizer.ggml.merges"]!.value).toEqual(ggml.merges);
    expect(ours.metadata["tokenizer.ggml.scores"]!.value).toEqual(ggml.scores);
    expect(ours.metadata["tokenizer.ggml.token_type"]!.value).toEqual(ggml.token_type);
    expect(ours.metadata["tokenizer.ggml.bos_token_id"]!.value).toEqual(ggml.bos_token_id);
  });

  it("names the file and the key of a value with the wrong type", async () => {
    const path = await write({ ...base, "tokenizer.ggml.add_bos_token": "yes" });
    expect(() => readGgufVocab(path)).toThrow(`${path}:tokenizer.ggml.add_bos_token: expected a bool, got string`);
    const scores = await write({ ...base, "tokenizer.ggml.scores": gguf.strings(["0"]) });
    expect(() => readGgufVocab(scores)).toThrow(
      `${scores}:tokenizer.ggml.scores: expected an array of numbers, got array of string`,
    );
  });

  it("refuses missing tokens, a short score list and a special id outside the vocabulary", async () => {
    const { ["tokenizer.ggml.tokens"]: _tokens, ...noTokens } = base;
    const missing = await write(noTokens);
    expect(() => readGgufVocab(missing)).toThrow(`${missing}:tokenizer.ggml.tokens: missing`);
    const short = await write({ ...base, "tokenizer.ggml.scores": gguf.numbers("f32", [0, 0]) });
    expect(() => readGgufVocab(short)).toThrow(`${short}:tokenizer.ggml.scores: 2 entries for 6 tokens`);
    const outside = await write({ ...base, "tokenizer.ggml.eos_token_id": gguf.u32(6) });
    expect(() => readGgufVocab(outside)).toThrow(
      `${outside}:tokenizer.ggml.eos_token_id: token id 6 is outside the vocabulary (6 tokens)`,
    );
    const { ["tokenizer.ggml.model"]: _model, ...noModel } = base;
    const untokenized = await write(noModel);
    expect(() => readGgufVocab(untokenized)).toThrow(`${untokenized}:tokenizer.ggml.model: missing`);
  });

  it("refuses a file that is not GGUF, or cut short", async () => {
    const text = join(dir, "not.gguf");
    writeFileSync(text, "hello, this is not a GGUF file at all");
    expect(() => readGgufVocab(text)).toThrow(`${text}: not a GGUF file (bad magic)`);
    const whole = await write(base);
    const cut = join(dir, "cut.gguf");
    writeFileSync(cut, readFileSync(whole).subarray(0, 100));
    expect(() => readGgufVocab(cut)).toThrow(/unexpected end of file at byte/);
  });
});

describe("stories260K's SentencePiece GGUF export read back", () => {
  let path: string;
  beforeAll(async () => {
    path = join(dir, "stories260K.gguf");
    await exportGguf(await loadHfModel(STORIES_HF), path, { type: "f32" });
  }, 60_000);

  it("tokenizes the reference strings to llama2.c's ids, as the Hugging Face tokenizer does", async () => {
    const fromGguf = loadGgufTokenizer(path);
    const hf = await loadTokenizer(STORIES_HF);
    expect(fromGguf.vocabSize).toBe(hf.vocabSize);
    expect(encodeReference.cases.length).toBeGreaterThan(5);
    for (const { text, ids } of encodeReference.cases) {
      expect(fromGguf.encode(text, { addSpecialTokens: false }), text).toEqual(ids);
      expect(hf.encode(text, { addSpecialTokens: false }), text).toEqual(ids);
      expect(fromGguf.encode(text), text).toEqual(hf.encode(text));
      expect(fromGguf.decode(ids), text).toBe(hf.decode(ids));
    }
  });
});

describe.each(["llama", "qwen2"] as const)("a byte-level BPE GGUF export (%s preset) read back", (architecture) => {
  const texts = ["Hello world", "  two  spaces\n\nand lines", "48 divided by 6 is 8.", "café 😀 Zürich", ""];

  it("tokenizes like the Hugging Face tokenizer it was written from, BOS included", async () => {
    const { config, tokenizer } = presetModel({ architecture, preset: "tiny" });
    const hf = new HfTokenizer(tokenizer);
    const path = join(dir, `${architecture}-bpe.gguf`);
    await exportGguf({ config, weights: randomWeights(config, 3), tokenizer: hf }, path, { type: "f32" });
    const fromGguf = loadGgufTokenizer(path);
    expect(readGgufVocab(path).pre).toBe("gpt-2");
    expect(fromGguf.addsBos).toBe(hf.addsBos);
    for (const text of texts) {
      expect(fromGguf.encode(text), text).toEqual(hf.encode(text));
      expect(fromGguf.decode(hf.encode(text, { addSpecialTokens: false })), text).toBe(text);
    }
    expect(fromGguf.encode("<|im_start|>user")[hf.addsBos ? 1 : 0]).toBe(tokenizer.special.imStart);
  });
});

describe("loadGgufTokenizer refusals", () => {
  const gpt2: GgufMetadata = {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.tokens": gguf.strings(["a", "b", "ab", "\u0120"]),
    "tokenizer.ggml.merges": gguf.strings(["a b"]),
  };

  it("names the pre-tokenizer it has no regexes for, and a gpt2 vocabulary without merges", async () => {
    const jais = await write({ ...gpt2, "tokenizer.ggml.pre": "jais" });
    expect(() => loadGgufTokenizer(jais)).toThrow(`${jais}:tokenizer.ggml.pre: pre-tokenizer "jais" is not supported`);
    const { ["tokenizer.ggml.merges"]: _merges, ...noMerges } = gpt2;
    const bare = await write(noMerges);
    expect(() => loadGgufTokenizer(bare)).toThrow(`${bare}:tokenizer.ggml.merges: missing`);
  });

  it("takes a gpt2 vocabulary without a pre name as llama.cpp's default, which cuts digits in threes", async () => {
    const digits: GgufMetadata = {
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.tokens": gguf.strings(["1", "2", "3", "4", "12", "123", "1234"]),
      "tokenizer.ggml.merges": gguf.strings(["1 2", "12 3", "123 4"]),
    };
    expect(loadGgufTokenizer(await write(digits)).tokens("1234")).toEqual(["123", "4"]);
    const gpt2Split = await write({ ...digits, "tokenizer.ggml.pre": "gpt-2" });
    expect(loadGgufTokenizer(gpt2Split).tokens("1234")).toEqual(["1234"]);
  });
});
