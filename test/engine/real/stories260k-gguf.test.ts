import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportGguf } from "../../../src/engine/io/hf-to-gguf.js";
import { loadHfModel } from "../../../src/engine/io/hf-model.js";
import { readGgufInfo, type GgufInfo } from "../../helpers/gguf/reader.js";
import { STORIES_DIR, STORIES_HF, copyStoriesHf, encodeReference, greedyReference } from "./stories260k.js";

/**
 * The SentencePiece GGUF export on a real SentencePiece model: stories260K's Hugging Face folder
 * exported to GGUF, then checked against llama2.c's own tokenizer file and run in real llama.cpp
 * (node-llama-cpp), whose greedy continuation and tokenization must equal the references.
 */

/** llama2.c's tok512.bin: i32 max piece length, then per piece f32 score, i32 byte length, bytes. */
function readLlama2cScores(path: string): number[] {
  const bytes = readFileSync(path);
  const scores: number[] = [];
  let at = 4;
  while (at < bytes.length) {
    scores.push(bytes.readFloatLE(at));
    at += 8 + bytes.readInt32LE(at + 4);
  }
  return scores;
}

const work = copyStoriesHf();
const ggufPath = join(work, "..", "stories260K-f32.gguf");
let info: GgufInfo;
let llama: Llama;
let model: LlamaModel;

beforeAll(async () => {
  await exportGguf(await loadHfModel(STORIES_HF), ggufPath, { type: "f32" });
  info = await readGgufInfo(ggufPath);
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: ggufPath });
});
afterAll(async () => {
  await model?.dispose();
  await llama?.dispose();
  rmSync(join(work, ".."), { recursive: true, force: true });
});

describe("SentencePiece GGUF export of stories260K", () => {
  it("writes llama.cpp's SPM vocabulary: model llama, types, space prefix and special ids", () => {
    const meta = info.metadata;
    expect(meta["tokenizer.ggml.model"]).toEqual({ type: "string", value: "llama" });
    expect(meta["tokenizer.ggml.pre"]).toEqual({ type: "string", value: "default" });
    expect(meta["tokenizer.ggml.add_space_prefix"]).toEqual({ type: "bool", value: true });
    expect(meta["tokenizer.ggml.add_bos_token"]).toEqual({ type: "bool", value: true });
    expect(meta["tokenizer.ggml.add_eos_token"]).toEqual({ type: "bool", value: false });
    expect(meta["tokenizer.ggml.bos_token_id"]).toEqual({ type: "u32", value: 1 });
    expect(meta["tokenizer.ggml.eos_token_id"]).toEqual({ type: "u32", value: 2 });
    expect(meta["tokenizer.ggml.unknown_token_id"]).toEqual({ type: "u32", value: 0 });
    const tokens = meta["tokenizer.ggml.tokens"]!.value as string[];
    expect(tokens.slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(tokens[259]).toBe("\u2581t");
    const types = meta["tokenizer.ggml.token_type"]!.value as number[];
    // unknown, control ×2, 256 byte pieces, then normal pieces.
    expect(types).toEqual([2, 3, 3, ...new Array<number>(256).fill(6), ...new Array<number>(512 - 259).fill(1)]);
    expect(meta["tokenizer.ggml.merges"]).toBeUndefined();
  });

  it("gives back the scores of llama2.c's own tokenizer file, piece by piece", () => {
    const scores = info.metadata["tokenizer.ggml.scores"]!.value as number[];
    expect(scores).toEqual(readLlama2cScores(join(STORIES_DIR, "llama2c", "tok512.bin")));
  });

  it("tokenizes in llama.cpp as llama2.c does", () => {
    for (const { text, ids } of encodeReference.cases) expect(model.tokenize(text), text).toEqual(ids);
  });

  it("continues BOS in llama.cpp with the reference's 200 greedy tokens", async () => {
    const context = await model.createContext({
      contextSize: 256,
      sequences: 1,
      threads: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    try {
      const tokens: number[] = [];
      const bos = greedyReference.ids[0]! as Token;
      for await (const token of context.getSequence().evaluate([bos], { temperature: 0 })) {
        tokens.push(token);
        if (tokens.length === 200) break;
      }
      expect(tokens).toEqual(greedyReference.ids.slice(1));
      expect(model.detokenize(tokens as Token[])).toBe(greedyReference.text);
    } finally {
      await context.dispose();
    }
  });
});
