import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGgufInfo } from "../../helpers/gguf/reader.js";
import {
  exportGguf,
  ggufTensorName,
  permuteForLlamaRope,
  type GgufExportModel,
} from "../../../src/engine/io/hf-to-gguf.js";
import { presetModel, randomWeights } from "../../../src/engine/io/init.js";
import { HfTokenizer } from "../../../src/engine/io/tokenizer.js";
import { tokenLogprobs } from "../../../src/engine/nn/functional.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { noGrad } from "../../../src/engine/tensor.js";
import type { WeightMap } from "../../../src/engine/models/config.js";
import { createLlamaCppModel } from "../../../src/llm/llama-cpp.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-export-gguf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Tiny random models with weights large enough (std 0.4) that attention patterns, and so the RoPE
 * layout of Q and K, visibly move the scores.
 */
function tinyModel(architecture: "llama" | "qwen2"): GgufExportModel {
  const { config, tokenizer } = presetModel({ architecture, preset: "tiny" });
  return { config, weights: randomWeights(config, 11, 0.4), tokenizer: new HfTokenizer(tokenizer) };
}

/** Sum of log p(continuation) under the engine, tokenized the way the llama.cpp provider does. */
function engineLogprob(model: GgufExportModel, context: string, continuation: string): number {
  const contextIds = model.tokenizer.encode(context);
  const ids = model.tokenizer.encode(context + continuation);
  expect(ids.slice(0, contextIds.length)).toEqual(contextIds);
  const net = LlamaModel.fromWeights(model.config, model.weights);
  const perToken = noGrad(() => tokenLogprobs(net.forward([ids.slice(0, -1)]), [ids.slice(1)]));
  let sum = 0;
  for (let t = contextIds.length - 1; t < ids.length - 1; t++) sum += perToken.data[t]!;
  return sum;
}

async function llamaCppLogprob(path: string, context: string, continuation: string): Promise<number> {
  const lm = await createLlamaCppModel({ ggufPath: path, sequences: 1 });
  try {
    return (await lm.logprobs([{ context, continuation }]))[0]!.logprob;
  } finally {
    await lm.close?.();
  }
}

describe("ggufTensorName and permuteForLlamaRope", () => {
  it.each([
    ["model.embed_tokens.weight", "token_embd.weight"],
    ["model.layers.3.self_attn.q_proj.weight", "blk.3.attn_q.weight"],
    ["model.layers.0.self_attn.k_proj.bias", "blk.0.attn_k.bias"],
    ["model.layers.1.self_attn.o_proj.weight", "blk.1.attn_output.weight"],
    ["model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight"],
    ["model.layers.12.input_layernorm.weight", "blk.12.attn_norm.weight"],
    ["model.layers.12.post_attention_layernorm.weight", "blk.12.ffn_norm.weight"],
    ["model.norm.weight", "output_norm.weight"],
    ["lm_head.weight", "output.weight"],
  ])("%s → %s", (hf, gguf) => {
    expect(ggufTensorName(hf)).toBe(gguf);
  });

  it("interleaves the two halves of each head's rows", () => {
    // 2 heads of dim 4, one column: rows h0 [0 1 | 2 3], h1 [4 5 | 6 7] → pairs (0,2) (1,3), (4,6) (5,7).
    expect([...permuteForLlamaRope(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2, 4)]).toEqual([
      0, 2, 1, 3, 4, 6, 5, 7,
    ]);
    // Rows move whole: two columns.
    expect([...permuteForLlamaRope(Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]), 1, 4)]).toEqual([
      0, 0, 2, 2, 1, 1, 3, 3,
    ]);
  });
});

describe("exportGguf", () => {
  const models = { llama: tinyModel("llama"), qwen2: tinyModel("qwen2") };
  const paths = { llama: join(dir, "llama.gguf"), qwen2: join(dir, "qwen2.gguf") };
  beforeAll(async () => {
    await exportGguf(models.llama, paths.llama, { type: "f32" });
    await exportGguf(models.qwen2, paths.qwen2, { type: "f32" });
  });

  it("writes the architecture's hyper-parameters, tokenizer and tensors", async () => {
    const info = await readGgufInfo(paths.qwen2);
    const meta = info.metadata;
    expect(meta["general.architecture"]).toEqual({ type: "string", value: "qwen2" });
    expect(meta["qwen2.block_count"]).toEqual({ type: "u32", value: 2 });
    expect(meta["qwen2.attention.head_count_kv"]).toEqual({ type: "u32", value: 2 });
    expect(meta["qwen2.rope.freq_base"]).toEqual({ type: "f32", value: 1e6 });
    expect(meta["tokenizer.ggml.model"]).toEqual({ type: "string", value: "gpt2" });
    expect(meta["tokenizer.ggml.pre"]).toEqual({ type: "string", value: "gpt-2" });
    expect(meta["tokenizer.ggml.add_bos_token"]).toEqual({ type: "bool", value: false });
    expect(meta["tokenizer.ggml.eos_token_id"]).toEqual({ type: "u32", value: 511 });
    const tokens = meta["tokenizer.ggml.tokens"]!.value as string[];
    expect(tokens).toHaveLength(512);
    expect((meta["tokenizer.ggml.token_type"]!.value as number[]).slice(509)).toEqual([3, 3, 3]);
    expect((meta["tokenizer.ggml.merges"]!.value as string[])[0]).toBe("\u0120 1");
    const names = info.tensors.map((t) => t.name);
    expect(names).toContain("blk.1.attn_q.bias");
    expect(names).not.toContain("output.weight"); // tied: llama.cpp reuses token_embd
    expect((await readGgufInfo(paths.llama)).metadata["tokenizer.ggml.add_bos_token"]).toEqual({
      type: "bool",
      value: true,
    });
  });

  describe("in llama.cpp", () => {
    let llama: Llama;
    beforeAll(async () => {
      llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    });
    afterAll(async () => {
      await llama?.dispose();
    });

    it.each(["llama", "qwen2"] as const)(
      "%s tokenizes exactly like the Hugging Face tokenizer",
      async (architecture) => {
        const model = await llama.loadModel({ modelPath: paths[architecture], vocabOnly: true });
        try {
          const hf = models[architecture].tokenizer;
          for (const text of [
            "The answer is 12.",
            "héllo wörld 😀 👨‍👩‍👧",
            "tabs\tand\n\nnewlines  ",
            "<|im_start|>user\n7 times 8<|im_end|>\n",
            "it's 3+4=7",
          ]) {
            expect(model.tokenize(text, true), text).toEqual(hf.encode(text, { addSpecialTokens: false }));
            expect(model.detokenize(model.tokenize(text, true), true)).toBe(text);
          }
        } finally {
          await model.dispose();
        }
      },
    );

    it.each(["llama", "qwen2"] as const)(
      "%s scores a continuation like the engine does on the HF weights",
      async (architecture) => {
        const [context, continuation] = ["The cat sat", " on the mat and 12 times 4 is 48."];
        const engine = engineLogprob(models[architecture], context, continuation);
        const cpp = await llamaCppLogprob(paths[architecture], context, continuation);
        // About -155 nats over 16 tokens; measured differences 0.04 (llama) and 0.004 (qwen2), float32 rounding.
        expect(Math.abs(cpp - engine)).toBeLessThan(0.2);
      },
    );

    it("would catch a wrong Q/K layout: the rows permuted twice score differently", async () => {
      const model = models.llama;
      const twice: WeightMap = new Map(model.weights);
      for (const [name, tensor] of model.weights) {
        if (name.endsWith("q_proj.weight"))
          twice.set(name, {
            shape: tensor.shape,
            data: permuteForLlamaRope(tensor.data, model.config.numHeads, model.config.headDim),
          });
        if (name.endsWith("k_proj.weight"))
          twice.set(name, {
            shape: tensor.shape,
            data: permuteForLlamaRope(tensor.data, model.config.numKvHeads, model.config.headDim),
          });
      }
      const path = join(dir, "llama-wrong.gguf");
      await exportGguf({ ...model, weights: twice }, path, { type: "f32" });
      const [context, continuation] = ["The cat sat", " on the mat and 12 times 4 is 48."];
      const engine = engineLogprob(model, context, continuation);
      const wrong = await llamaCppLogprob(path, context, continuation);
      expect(Math.abs(wrong - engine)).toBeGreaterThan(2); // measured: about 21 nats off
    });
  });
});
