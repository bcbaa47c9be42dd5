import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, describe, expect, it } from "vitest";
import { buildByteLevelBpeTokenizer, CHATML_SPECIALS, learnMerges } from "../../../src/engine/io/bpe.js";
import { HfTokenizer, loadTokenizer, saveTokenizerFiles } from "../../../src/engine/io/tokenizer.js";
import { gpt2ByteSymbols } from "../../helpers/gguf/tiny-llama.js";
import { Rng } from "../../../src/engine/random.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-tokenizer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const qwenStyle = buildByteLevelBpeTokenizer({ vocabSize: 512 });
const llamaStyle = buildByteLevelBpeTokenizer({ vocabSize: 512, addBos: true });
const tokenizer = new HfTokenizer(qwenStyle);

describe("buildByteLevelBpeTokenizer", () => {
  it("fills the vocabulary with bytes, learned merges and the three specials", () => {
    expect(qwenStyle.vocabSize).toBe(512);
    expect(tokenizer.vocabSize).toBe(512);
    const vocab = tokenizer.vocabulary();
    expect(vocab.slice(0, 256)).toEqual(gpt2ByteSymbols());
    expect(vocab.slice(509)).toEqual([...CHATML_SPECIALS]);
    expect(qwenStyle.special).toEqual({ endOfText: 509, imStart: 510, imEnd: 511 });
    expect(qwenStyle.merges.length).toBeGreaterThanOrEqual(253);
    expect(vocab).toContain("\u0120times"); // "Ġtimes", frequent in the built-in corpus
  });

  it("learns the most frequent pair first, ties to the smaller pair, then builds on it", () => {
    // Words: "aaab" once, "Ġaaab" twice, "Ġxy" once. "a a" occurs 6 times; then "a b" and "aa a" tie at 3.
    expect(learnMerges("aaab aaab aaab xy", gpt2ByteSymbols(), 3)).toEqual([
      ["a", "a"],
      ["a", "b"],
      ["aa", "ab"],
    ]);
  });

  it("uses its merges: common words become single tokens", () => {
    expect(tokenizer.tokens(" times")).toEqual(["\u0120times"]);
    expect(tokenizer.encode("The answer is 12.").length).toBeLessThan(Buffer.byteLength("The answer is 12."));
  });

  // Golden values, computed once with this builder on its built-in corpus (DEFAULT_CORPUS) and pinned
  // here, so a change to the merge order or the corpus shows up. The ids are cross-checked below by an
  // independent encoder, @huggingface/tokenizers, reading the same tokenizer.json.
  const goldenIds: [string, number[]][] = [
    ["The answer is 12.", [84, 341, 397, 115, 119, 278, 260, 277, 46]],
    ["Hello, world!", [72, 101, 389, 111, 44, 333, 317, 384, 33]],
    ["<|im_start|>user\nhi<|im_end|>", [510, 117, 115, 278, 10, 104, 105, 511]],
  ];

  it("learns the same merges on the built-in corpus every time (golden values)", () => {
    const merges = buildByteLevelBpeTokenizer({ vocabSize: 300 }).merges;
    expect(merges.length).toBe(41);
    expect(merges.slice(0, 12)).toEqual([
      ["\u0120", "1"],
      ["\u0120", "t"],
      ["e", "s"],
      ["\u0120", "i"],
      ["\u0120i", "s"],
      ["i", "m"],
      ["\u0120t", "im"],
      ["\u0120tim", "es"],
      ["\u0120", "+"],
      ["\u0120", "="],
      ["\u0120", "2"],
      ["\u0120", "3"],
    ]);
    expect(merges.slice(-3)).toEqual([
      ["\u01202", "1"],
      ["\u01202", "2"],
      ["a", "n"],
    ]);
  });

  it.each(goldenIds)("encodes %j to the golden ids, as @huggingface/tokenizers does", (text, ids) => {
    expect(tokenizer.encode(text)).toEqual(ids);
    const direct = new Tokenizer(qwenStyle.tokenizerJson, qwenStyle.tokenizerConfig);
    expect(direct.encode(text).ids).toEqual(ids);
  });

  it("depends on the corpus", () => {
    const other = buildByteLevelBpeTokenizer({ vocabSize: 300, corpus: "zebra zebra zebra quartz quartz" });
    expect(other.merges[0]).toEqual(["b", "r"]); // z e, e b, b r, r a all occur 3 times: the smallest pair wins
    expect(other.vocabSize).toBeLessThan(300); // a tiny corpus runs out of pairs
  });

  it("rejects a vocabulary too small for the bytes and specials", () => {
    expect(() => buildByteLevelBpeTokenizer({ vocabSize: 258 })).toThrow(/at least 259/);
  });
});

describe("round trip through @huggingface/tokenizers", () => {
  it.each([
    "Hello, world!",
    "emoji 😀👍🏽 and a family 👨‍👩‍👧 (zero-width joiners)",
    "accents: café, naïve, Zürich, São Paulo, Ångström",
    "lines\nand\r\nwindows\n\n\ttabs   and  spaces ",
    "  leading and trailing  ",
    "中文, 日本語, 한국어, العربية, עברית",
    "control \u0000\u0001\u007f and combining e\u0301",
    "it's they'll I'm we've 'quoted'",
    "<|im_start|>user\nhi<|im_end|>",
    "",
  ])("%j", (text) => {
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    expect(tokenizer.decode(ids)).toBe(text);
    // The same files through the library directly give the same ids.
    const direct = new Tokenizer(qwenStyle.tokenizerJson, qwenStyle.tokenizerConfig);
    expect(direct.encode(text, { add_special_tokens: false }).ids).toEqual(ids);
  });

  it("round-trips seeded random Unicode text", () => {
    const rng = new Rng(7);
    const ranges: [number, number][] = [
      [0x20, 0x7e],
      [0xa0, 0x24f],
      [0x370, 0x3ff],
      [0x4e00, 0x4fff],
      [0x1f300, 0x1f64f],
      [0x0a, 0x0a],
    ];
    for (let sample = 0; sample < 50; sample++) {
      let text = "";
      for (let i = 0; i < 40; i++) {
        const [lo, hi] = ranges[rng.int(ranges.length)]!;
        text += String.fromCodePoint(lo + rng.int(hi - lo + 1));
      }
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
  });
});

describe("HfTokenizer", () => {
  it("encodes specials as single ids and can skip them when decoding", () => {
    const ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>");
    expect(ids[0]).toBe(510);
    expect(ids[ids.length - 1]).toBe(511);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("user\nhi");
    expect(tokenizer.eosTokenId).toBe(511);
    expect(tokenizer.padTokenId).toBe(509);
    expect(tokenizer.bosTokenId).toBeUndefined();
    expect(tokenizer.addsBos).toBe(false);
  });

  it("adds BOS only with special tokens when the tokenizer uses one", () => {
    const llama = new HfTokenizer(llamaStyle);
    expect(llama.bosTokenId).toBe(509);
    expect(llama.addsBos).toBe(true);
    expect(llama.encode("hi")).toEqual([509, ...llama.encode("hi", { addSpecialTokens: false })]);
    expect(llama.encode("")).toEqual([509]);
  });

  it("follows an explicit add_bos_token in tokenizer_config.json over tokenizer.json's post-processor", () => {
    const on = new HfTokenizer({
      tokenizerJson: qwenStyle.tokenizerJson,
      tokenizerConfig: { ...qwenStyle.tokenizerConfig, bos_token: "<|endoftext|>", add_bos_token: true },
    });
    expect(on.encode("hi")[0]).toBe(509);
    const off = new HfTokenizer({
      tokenizerJson: llamaStyle.tokenizerJson,
      tokenizerConfig: { ...llamaStyle.tokenizerConfig, add_bos_token: false },
    });
    expect(off.encode("hi")).toEqual(off.encode("hi", { addSpecialTokens: false }));
  });

  it("renders the ChatML template", () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "2+2?" },
    ];
    expect(tokenizer.applyChatTemplate(messages)).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n",
    );
    expect(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true })).toMatch(
      /<\|im_end\|>\n<\|im_start\|>assistant\n$/,
    );
  });

  describe("never encodes a chat with two BOS tokens", () => {
    const messages = [{ role: "user", content: "hi" }];
    it("when the template writes the BOS itself (Llama 3 style)", () => {
      const withBosTemplate = new HfTokenizer({
        tokenizerJson: llamaStyle.tokenizerJson,
        tokenizerConfig: {
          ...llamaStyle.tokenizerConfig,
          chat_template: "{{ bos_token }}{% for m in messages %}{{ m.role + ': ' + m.content + '\\n' }}{% endfor %}",
        },
      });
      const text = withBosTemplate.applyChatTemplate(messages);
      expect(text).toBe("<|endoftext|>user: hi\n");
      // The naive path doubles it; encodeChat does not.
      expect(withBosTemplate.encode(text).slice(0, 2)).toEqual([509, 509]);
      const ids = withBosTemplate.encodeChat(messages);
      expect(ids[0]).toBe(509);
      expect(ids.filter((id) => id === 509)).toHaveLength(1);
    });

    it("when the template does not, encodeChat adds the one BOS", () => {
      const llama = new HfTokenizer(llamaStyle);
      const ids = llama.encodeChat(messages, { addGenerationPrompt: true });
      expect(ids[0]).toBe(509);
      expect(ids.filter((id) => id === 509)).toHaveLength(1);
      expect(llama.decode(ids.slice(1))).toBe("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
      expect(tokenizer.encodeChat(messages)[0]).toBe(510); // Qwen style: no BOS at all
    });
  });

  it("refuses out-of-range ids and decodes nothing to an empty string", () => {
    expect(tokenizer.decode([])).toBe("");
    expect(() => tokenizer.decode([512])).toThrow(/token id 512 is outside the vocabulary \(size 512\)/);
  });
});

describe("loadTokenizer", () => {
  it("loads saved files; chat_template.jinja wins; AddedToken objects name specials", async () => {
    const folder = mkdtempSync(join(dir, "tok-"));
    await saveTokenizerFiles(folder, {
      tokenizerJson: llamaStyle.tokenizerJson,
      tokenizerConfig: {
        ...llamaStyle.tokenizerConfig,
        bos_token: { __type: "AddedToken", content: "<|endoftext|>", special: true },
      },
    });
    const loaded = await loadTokenizer(folder);
    expect(loaded.bosTokenId).toBe(509);
    expect(loaded.encode("hello world")).toEqual(new HfTokenizer(llamaStyle).encode("hello world"));
    writeFileSync(join(folder, "chat_template.jinja"), "{% for m in messages %}[{{ m.content }}]{% endfor %}");
    expect((await loadTokenizer(folder)).applyChatTemplate([{ role: "user", content: "x" }])).toBe("[x]");
  });

  it("names the missing file, a bad special token and a missing template", async () => {
    const empty = mkdtempSync(join(dir, "empty-"));
    await expect(loadTokenizer(empty)).rejects.toThrow(/tokenizer\.json: file not found/);
    expect(
      () =>
        new HfTokenizer(
          {
            tokenizerJson: qwenStyle.tokenizerJson,
            tokenizerConfig: { ...qwenStyle.tokenizerConfig, eos_token: "</s>" },
          },
          "m",
        ),
    ).toThrow(/m\/tokenizer_config\.json:eos_token: "<\/s>" is not in the vocabulary/);
    const plain = new HfTokenizer(
      {
        tokenizerJson: qwenStyle.tokenizerJson,
        tokenizerConfig: { ...qwenStyle.tokenizerConfig, chat_template: undefined },
      },
      "m",
    );
    expect(() => plain.applyChatTemplate([])).toThrow(
      /m\/tokenizer_config\.json:chat_template: this tokenizer has no chat template/,
    );
  });
});
