import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { hfConfigJson, parseHfConfig } from "../../../src/engine/io/hf-config.js";
import type { ModelConfig } from "../../../src/engine/models/config.js";

/** Trimmed from the config.json files of TinyLlama-1.1B (llama) and Qwen2.5-0.5B-Instruct (qwen2). */
const LLAMA = {
  architectures: ["LlamaForCausalLM"],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: "silu",
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: "llama",
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: "bfloat16",
  transformers_version: "4.35.0",
  use_cache: true,
  vocab_size: 32000,
};
const QWEN2 = {
  architectures: ["Qwen2ForCausalLM"],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: "silu",
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

describe("parseHfConfig", () => {
  it("reads a Llama config", () => {
    expect(parseHfConfig(LLAMA)).toEqual({
      architecture: "llama",
      vocabSize: 32000,
      hiddenSize: 2048,
      intermediateSize: 5632,
      numLayers: 22,
      numHeads: 32,
      numKvHeads: 4,
      headDim: 64,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: false,
      attentionBias: false,
      maxPositionEmbeddings: 2048,
      bosTokenId: 1,
      eosTokenId: 2,
    } satisfies ModelConfig);
  });

  it("reads a Qwen2 config: q/k/v biases always, tied embeddings", () => {
    const config = parseHfConfig(QWEN2);
    expect(config).toMatchObject({
      architecture: "qwen2",
      headDim: 64,
      numKvHeads: 2,
      attentionBias: true,
      tieWordEmbeddings: true,
      ropeTheta: 1e6,
    });
  });

  it.each([
    ["num_key_value_heads defaults to the head count", { num_key_value_heads: undefined }, { numKvHeads: 32 }],
    ["head_dim overrides hidden / heads", { head_dim: 128 }, { headDim: 128 }],
    ["llama attention_bias is read", { attention_bias: true }, { attentionBias: true }],
    ["eos may be a list (Llama 3)", { eos_token_id: [2, 3] }, { eosTokenId: [2, 3] }],
    [
      "absent rope and norm settings take LlamaConfig's defaults",
      { rope_theta: undefined, rms_norm_eps: undefined, max_position_embeddings: undefined },
      { ropeTheta: 10000, rmsNormEps: 1e-6, maxPositionEmbeddings: 2048 },
    ],
    [
      "transformers 5 rope_parameters",
      { rope_theta: undefined, rope_parameters: { rope_type: "default", rope_theta: 5e5 } },
      { ropeTheta: 5e5 },
    ],
    ["model_type alone names the architecture", { architectures: undefined }, { architecture: "llama" }],
  ])("%s", (_, change, expected) => {
    expect(parseHfConfig({ ...LLAMA, ...change })).toMatchObject(expected);
  });

  it("leaves a null bos id out", () => {
    expect(parseHfConfig({ ...LLAMA, bos_token_id: null })).not.toHaveProperty("bosTokenId");
  });

  it.each([
    [
      "an unsupported architecture",
      { architectures: ["MistralForCausalLM"] },
      /config\.json:architectures: unsupported architecture "MistralForCausalLM"/,
    ],
    [
      "rope scaling",
      { rope_scaling: { rope_type: "llama3", factor: 8 } },
      /config\.json:rope_scaling\.rope_type: rope scaling "llama3" is not supported/,
    ],
    [
      "old-style rope scaling",
      { rope_scaling: { type: "linear", factor: 2 } },
      /rope_scaling\.rope_type: rope scaling "linear"/,
    ],
    ["another activation", { hidden_act: "gelu" }, /config\.json:hidden_act: activation "gelu"/],
    ["MLP biases", { mlp_bias: true }, /config\.json:mlp_bias:/],
    ["a missing size", { hidden_size: undefined }, /config\.json:hidden_size:/],
    [
      "kv heads that do not divide the heads",
      { num_key_value_heads: 5 },
      /config\.json:num_key_value_heads: 5 does not divide/,
    ],
    ["model_type that disagrees", { model_type: "qwen2" }, /config\.json:model_type: "qwen2" disagrees/],
    ["an eos id outside the vocabulary", { eos_token_id: 32000 }, /config\.json:eos_token_id: 32000 is outside/],
  ])("refuses %s, naming config.json and the field", (_, change, message) => {
    const error = (() => {
      try {
        parseHfConfig({ ...LLAMA, ...change }, "config.json");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
  });

  it("refuses Qwen2 sliding-window attention", () => {
    expect(() => parseHfConfig({ ...QWEN2, use_sliding_window: true })).toThrow(
      /use_sliding_window: sliding-window attention is not supported/,
    );
  });
});

describe("hfConfigJson", () => {
  it.each([
    ["llama", parseHfConfig(LLAMA)],
    ["qwen2", parseHfConfig(QWEN2)],
    ["llama without special ids", { ...parseHfConfig(LLAMA), bosTokenId: undefined, eosTokenId: undefined }],
    ["qwen2 with an explicit head_dim", { ...parseHfConfig(QWEN2), headDim: 32 }],
  ])("round-trips %s", (_, config) => {
    const json = hfConfigJson(config);
    const back = parseHfConfig(JSON.parse(JSON.stringify(json)));
    expect(back).toEqual(Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)));
  });

  it("writes the fields transformers reads", () => {
    const json = hfConfigJson(parseHfConfig(QWEN2), { torchDtype: "bfloat16" });
    expect(json).toMatchObject({
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      torch_dtype: "bfloat16",
      hidden_act: "silu",
      use_sliding_window: false,
      rope_scaling: null,
      tie_word_embeddings: true,
    });
    expect(json).not.toHaveProperty("head_dim");
    expect(hfConfigJson(parseHfConfig(LLAMA))).toMatchObject({
      architectures: ["LlamaForCausalLM"],
      head_dim: 64,
      attention_bias: false,
      mlp_bias: false,
      torch_dtype: "float32",
    });
  });
});
