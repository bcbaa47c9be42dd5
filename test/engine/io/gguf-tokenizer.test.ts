import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { pieceScores, tokenizerKind } from "../../../src/engine/io/gguf-tokenizer.js";

const SPACE_MARK = { type: "Replace", pattern: { String: " " }, content: "\u2581" };

describe("tokenizerKind", () => {
  it("tells byte-level BPE from SentencePiece-style BPE", () => {
    expect(tokenizerKind({ model: { type: "BPE" }, decoder: { type: "ByteLevel" } })).toBe("gpt2");
    expect(tokenizerKind({ model: { type: "BPE", byte_fallback: true }, normalizer: SPACE_MARK })).toBe("llama");
    expect(
      tokenizerKind({
        model: { type: "BPE", byte_fallback: true },
        pre_tokenizer: { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first" },
      }),
    ).toBe("llama");
  });

  it("refuses SentencePiece without byte fallback, and other models, naming the field", () => {
    const noFallback = () => tokenizerKind({ model: { type: "BPE" }, normalizer: SPACE_MARK });
    expect(noFallback).toThrow(InputError);
    expect(noFallback).toThrow(/model\.byte_fallback/);
    expect(() => tokenizerKind({ model: { type: "Unigram" }, decoder: { type: "Metaspace" } })).toThrow(
      /tokenizer\.json.*model.*got model Unigram/,
    );
  });
});

describe("pieceScores", () => {
  it("ranks merge results by their first merge, then other normal pieces by id; specials and bytes score 0", () => {
    // ids: 0 <unk> (unknown), 1 <0x41> (byte), 2 a, 3 b, 4 ab, 5 abb, 6 [PAD6] (unused)
    const tokens = ["<unk>", "<0x41>", "a", "b", "ab", "abb", "[PAD6]"];
    const types = [2, 6, 1, 1, 1, 1, 5];
    const merges: [string, string][] = [
      ["ab", "b"],
      ["a", "b"],
      ["a", "bb"], // "abb" again, and "bb" is not a piece: no new rank
    ];
    expect(pieceScores(tokens, types, merges)).toEqual([0, 0, -2, -3, -1, -0, -1000]);
  });
});
