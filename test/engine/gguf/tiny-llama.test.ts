import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGgufInfo } from "../../helpers/gguf/reader.js";
import { CHATML_TEMPLATE, gpt2ByteSymbols, writeTinyLlamaGguf } from "../../helpers/gguf/tiny-llama.js";
import { createLlamaCppModel } from "../../../src/llm/llama-cpp.js";
import { tinyGgufPath } from "../../helpers/tiny-gguf.js";

const directory = mkdtempSync(join(tmpdir(), "seapo-tiny-llama-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("gpt2ByteSymbols", () => {
  it("is GPT-2's byte-to-unicode map", () => {
    const symbols = gpt2ByteSymbols();
    expect(new Set(symbols).size).toBe(256);
    expect(symbols[0x41]).toBe("A");
    expect(symbols[0xe9]).toBe("é");
    expect(symbols[0x00]).toBe("\u0100"); // Ā
    expect(symbols[0x0a]).toBe("\u010a"); // Ċ
    expect(symbols[0x20]).toBe("\u0120"); // Ġ
    expect(symbols[0x7f]).toBe("\u0121"); // ġ
    expect(symbols[0xad]).toBe("\u0143"); // Ń, the last remapped byte
  });
});

describe("writeTinyLlamaGguf", () => {
  it("writes llama hyper-parameters, a byte-level BPE vocabulary and the tensors llama.cpp expects", async () => {
    const info = await readGgufInfo(await tinyGgufPath());
    const meta = info.metadata;
    expect(meta["general.architecture"]).toEqual({ type: "string", value: "llama" });
    expect(meta["llama.block_count"]).toEqual({ type: "u32", value: 2 });
    expect(meta["llama.embedding_length"]).toEqual({ type: "u32", value: 64 });
    expect(meta["llama.attention.head_count"]).toEqual({ type: "u32", value: 4 });
    expect(meta["llama.attention.head_count_kv"]).toEqual({ type: "u32", value: 2 });
    expect(meta["llama.feed_forward_length"]).toEqual({ type: "u32", value: 128 });
    expect(meta["llama.context_length"]).toEqual({ type: "u32", value: 256 });
    expect(meta["llama.rope.dimension_count"]).toEqual({ type: "u32", value: 16 });
    expect(meta["tokenizer.ggml.model"]).toEqual({ type: "string", value: "gpt2" });
    expect(meta["tokenizer.chat_template"]).toEqual({ type: "string", value: CHATML_TEMPLATE });

    const tokens = meta["tokenizer.ggml.tokens"]?.value as string[];
    const types = meta["tokenizer.ggml.token_type"]?.value as number[];
    expect(tokens.slice(0, 256)).toEqual(gpt2ByteSymbols());
    expect(tokens).toContain("\u0120the"); // Ġthe, from the merges "Ġ t" and "Ġt he"
    for (const special of ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
      expect(types[tokens.indexOf(special)]).toBe(3);
    expect(types.filter((type) => type === 3)).toHaveLength(3);
    expect(meta["tokenizer.ggml.eos_token_id"]).toEqual({ type: "u32", value: tokens.indexOf("<|im_end|>") });

    const shapes = Object.fromEntries(info.tensors.map((t) => [t.name, t.shape]));
    expect(info.tensors).toHaveLength(1 + 2 * 9 + 2);
    expect(shapes["token_embd.weight"]).toEqual([tokens.length, 64]);
    expect(shapes["blk.1.attn_q.weight"]).toEqual([64, 64]);
    expect(shapes["blk.1.attn_k.weight"]).toEqual([32, 64]);
    expect(shapes["blk.0.ffn_down.weight"]).toEqual([64, 128]);
    expect(shapes["output.weight"]).toEqual([tokens.length, 64]);
  });

  it("is reproducible from its seed", async () => {
    const paths = [1, 1, 2].map((_, i) => join(directory, `seed-${i}.gguf`));
    await Promise.all([1, 1, 2].map((seed, i) => writeTinyLlamaGguf(paths[i]!, { seed, nLayer: 1 })));
    const [a, b, c] = paths.map((path) => readFileSync(path));
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
  });

  it("has a ChatML template that renders the usual prompt", () => {
    const rendered = new Template(CHATML_TEMPLATE).render({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      add_generation_prompt: true,
    });
    expect(rendered).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
  });
});

describe("the tiny GGUF in llama.cpp", () => {
  let llama: Llama;
  let model: LlamaModel;
  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: await tinyGgufPath(), vocabOnly: true });
  });
  afterAll(async () => {
    await llama?.dispose();
  });

  it.each(["plain ascii", "héllo wörld ✓ 😀", "tabs\tand\nnewlines  ", "\u0000\u007f bytes"])(
    "tokenizes and detokenizes %j",
    (text) => {
      expect(model.detokenize(model.tokenize(text))).toBe(text);
    },
  );

  it("applies the merges and keeps specials whole", () => {
    const symbolsOf = (text: string): string[] =>
      model.tokenize(text, true).map((token) => model.detokenize([token], true));
    expect(symbolsOf(" the cat")).toEqual([" the", " c", "at"]);
    expect(symbolsOf("<|im_start|>user")).toEqual(["<|im_start|>", "u", "s", "er"]);
    expect(model.tokens.eos).toBe(model.tokenize("<|im_end|>", true)[0]);
    expect(model.isEogToken(model.tokenize("<|im_end|>", true)[0]!)).toBe(true);
  });
});

describe("quantised variants", () => {
  it("score like the f32 model (the data layout is what llama.cpp expects)", async () => {
    const request = [{ context: "The cat", continuation: " sat on the mat" }];
    const scores: Record<string, number> = {};
    for (const type of ["f32", "f16", "q8_0"] as const) {
      const lm = await createLlamaCppModel({ ggufPath: await tinyGgufPath({ type }), sequences: 1 });
      try {
        scores[type] = (await lm.logprobs(request))[0]!.logprob;
      } finally {
        await lm.close?.();
      }
    }
    // Eight tokens at about -8 nats each; a mis-laid tensor would move this by tens of nats.
    expect(Math.abs(scores.f16! - scores.f32!)).toBeLessThan(0.05);
    expect(Math.abs(scores.q8_0! - scores.f32!)).toBeLessThan(0.5);
    expect(scores.q8_0).not.toBe(scores.f32);
  });
});
