import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeWeights } from "../../../src/engine/io/weights-folder.js";
import { loadHfModel, saveHfModel, type HfModel } from "../../../src/engine/io/hf-model.js";
import { initHfModel, presetModel, randomWeights } from "../../../src/engine/io/init.js";
import { expectedShapes, LlamaModel } from "../../../src/engine/models/llama.js";
import { noGrad } from "../../../src/engine/tensor.js";
import type { WeightMap } from "../../../src/engine/models/config.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-hf-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const models: Record<"llama" | "qwen2", HfModel> = {} as never;
beforeAll(async () => {
  for (const architecture of ["llama", "qwen2"] as const) {
    const folder = join(dir, `tiny-${architecture}`);
    await initHfModel(folder, { architecture, preset: "tiny", seed: 3 });
    models[architecture] = await loadHfModel(folder);
  }
});

function std(values: Float32Array): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

describe("initHfModel + loadHfModel", () => {
  it.each(["llama", "qwen2"] as const)(
    "writes a %s folder that loads with the preset's config and every expected tensor",
    (architecture) => {
      const { config, weights, tokenizer } = models[architecture];
      const folder = join(dir, `tiny-${architecture}`);
      for (const file of [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
      ])
        expect(existsSync(join(folder, file))).toBe(true);
      expect(config).toEqual(presetModel({ architecture, preset: "tiny" }).config);
      expect(config).toMatchObject({
        hiddenSize: 64,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        intermediateSize: 128,
        vocabSize: 512,
        headDim: 16,
      });
      expect([...weights.keys()]).toEqual([...expectedShapes(config).keys()]);
      for (const [name, shape] of expectedShapes(config)) expect(weights.get(name)!.shape).toEqual(shape);
      expect(tokenizer.vocabSize).toBe(config.vocabSize);
      expect(JSON.parse(readFileSync(join(folder, "generation_config.json"), "utf8"))).toEqual({
        bos_token_id: 509,
        eos_token_id: 511,
        pad_token_id: 509,
      });
    },
  );

  it("follows each family's conventions", () => {
    expect(models.llama.config).toMatchObject({ tieWordEmbeddings: false, attentionBias: false, ropeTheta: 10000 });
    expect(models.llama.weights.has("lm_head.weight")).toBe(true);
    expect(models.llama.tokenizer.addsBos).toBe(true);
    expect(models.qwen2.config).toMatchObject({ tieWordEmbeddings: true, attentionBias: true, ropeTheta: 1e6 });
    expect(models.qwen2.weights.has("lm_head.weight")).toBe(false);
    expect(models.qwen2.weights.get("model.layers.1.self_attn.k_proj.bias")!.shape).toEqual([32]);
    expect(models.qwen2.tokenizer.addsBos).toBe(false);
  });

  it("initialises matrices N(0, 0.02²), norms to 1 and biases to 0, reproducibly from the seed", () => {
    const { weights } = models.qwen2;
    expect(std(weights.get("model.embed_tokens.weight")!.data)).toBeCloseTo(0.02, 3);
    expect(std(weights.get("model.layers.0.mlp.down_proj.weight")!.data)).toBeCloseTo(0.02, 2);
    expect(weights.get("model.norm.weight")!.data.every((v) => v === 1)).toBe(true);
    expect(weights.get("model.layers.0.input_layernorm.weight")!.data.every((v) => v === 1)).toBe(true);
    expect(weights.get("model.layers.0.self_attn.q_proj.bias")!.data.every((v) => v === 0)).toBe(true);
    const again = randomWeights(models.qwen2.config, 3);
    expect(again.get("model.layers.1.mlp.up_proj.weight")!.data).toEqual(
      weights.get("model.layers.1.mlp.up_proj.weight")!.data,
    );
    expect(randomWeights(models.qwen2.config, 4).get("model.layers.1.mlp.up_proj.weight")!.data).not.toEqual(
      weights.get("model.layers.1.mlp.up_proj.weight")!.data,
    );
  });

  it.each(["llama", "qwen2"] as const)("hands the engine a %s model it can run", (architecture) => {
    const { config, weights, tokenizer } = models[architecture];
    const ids = tokenizer.encode("The answer is 4.");
    const logits = noGrad(() => LlamaModel.fromWeights(config, weights).forward([ids]));
    expect(logits.shape).toEqual([1, ids.length, config.vocabSize]);
    expect([...logits.data].every(Number.isFinite)).toBe(true);
  });
});

describe("saveHfModel", () => {
  it("saves bf16 shards that load back within bf16 precision, with torch_dtype bfloat16", async () => {
    const { config, weights, tokenizer } = models.llama;
    const folder = join(dir, "llama-bf16");
    const files = await saveHfModel(folder, { config, weights, tokenizer, dtype: "BF16", maxShardBytes: 40_000 });
    expect(files).toContain("model.safetensors.index.json");
    expect(files.filter((f) => f.startsWith("model-")).length).toBeGreaterThan(2);
    expect(JSON.parse(readFileSync(join(folder, "config.json"), "utf8")).torch_dtype).toBe("bfloat16");
    const back = await loadHfModel(folder);
    expect(back.config).toEqual(config);
    let worst = 0; // largest error relative to bf16's half-ulp bound
    for (const [name, { data }] of weights) {
      const read = back.weights.get(name)!.data;
      data.forEach((v, i) => (worst = Math.max(worst, Math.abs(read[i]! - v) / (Math.abs(v) * 2 ** -8 || 1))));
    }
    expect(worst).toBeGreaterThan(0); // bf16 did round something
    expect(worst).toBeLessThanOrEqual(1);
    expect(back.tokenizer.encode("hi there")).toEqual(tokenizer.encode("hi there"));
  });

  it("refuses to write weights that do not match the config", async () => {
    const { config, weights, tokenizer } = models.qwen2;
    const extra: WeightMap = new Map([
      ...weights,
      ["model.layers.0.mlp.extra.weight", { shape: [1], data: new Float32Array(1) }],
    ]);
    await expect(saveHfModel(join(dir, "never"), { config, weights: extra, tokenizer })).rejects.toThrow(
      /unexpected 1 tensor\(s\): model\.layers\.0\.mlp\.extra\.weight/,
    );
    expect(existsSync(join(dir, "never"))).toBe(false);
  });
});

describe("loadHfModel checks every tensor against config.json", () => {
  async function folderWith(name: string, change: (weights: WeightMap) => void): Promise<string> {
    const folder = join(dir, name);
    const { config, weights, tokenizer } = models.qwen2;
    await saveHfModel(folder, { config, weights, tokenizer });
    const changed: WeightMap = new Map(weights);
    change(changed);
    await writeWeights(folder, changed);
    return folder;
  }

  it("lists missing, unexpected and mis-shaped tensors by name in one error", async () => {
    const folder = await folderWith("broken", (w) => {
      w.delete("model.layers.1.mlp.gate_proj.weight");
      w.set("model.layers.1.mlp.gate.weight", { shape: [2], data: new Float32Array(2) });
      w.set("model.norm.weight", { shape: [63], data: new Float32Array(63) });
    });
    const error = (await loadHfModel(folder).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("InputError");
    expect(error.message).toContain(folder);
    expect(error.message).toMatch(/missing 1 tensor\(s\): model\.layers\.1\.mlp\.gate_proj\.weight \[128, 64\]/);
    expect(error.message).toMatch(/unexpected 1 tensor\(s\): model\.layers\.1\.mlp\.gate\.weight/);
    expect(error.message).toMatch(/model\.norm\.weight is \[63\], expected \[64\]/);
  });

  it("skips rotary inv_freq buffers and a saved lm_head of a tied model", async () => {
    const folder = await folderWith("extras", (w) => {
      w.set("model.layers.0.self_attn.rotary_emb.inv_freq", { shape: [8], data: new Float32Array(8) });
      w.set("lm_head.weight", w.get("model.embed_tokens.weight")!);
    });
    const { weights } = await loadHfModel(folder);
    expect(weights.has("lm_head.weight")).toBe(false);
    expect(weights.has("model.layers.0.self_attn.rotary_emb.inv_freq")).toBe(false);
  });
});

describe("load → save → load round trip", () => {
  /** Every file of a folder, by name, as bytes. */
  function filesOf(folder: string): Map<string, Buffer> {
    return new Map(
      readdirSync(folder)
        .sort()
        .map((name) => [name, readFileSync(join(folder, name))]),
    );
  }

  const bytesOf = (data: Float32Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

  it.each([
    ["F32", "one file", undefined],
    ["BF16", "one file", undefined],
    ["BF16", "shards and an index", 40_000],
  ] as const)(
    "%s in %s gives byte-identical weights, config and tokenizer files",
    async (dtype, _layout, maxShardBytes) => {
      const first = join(dir, `round-${dtype}-${maxShardBytes ?? "single"}-a`);
      const second = join(dir, `round-${dtype}-${maxShardBytes ?? "single"}-b`);
      const { config, tokenizer } = presetModel({ architecture: "qwen2", preset: "tiny" });
      await saveHfModel(first, { config, weights: randomWeights(config, 8), tokenizer, dtype, maxShardBytes });
      const loaded = await loadHfModel(first);
      await saveHfModel(second, {
        config: loaded.config,
        weights: loaded.weights,
        tokenizer: loaded.tokenizer,
        dtype,
        maxShardBytes,
      });
      const again = await loadHfModel(second);

      const [a, b] = [filesOf(first), filesOf(second)];
      expect([...b.keys()]).toEqual([...a.keys()]);
      expect([...a.keys()].filter((name) => name.endsWith(".safetensors")).length).toBeGreaterThan(0);
      for (const [name, bytes] of a) expect(b.get(name)!.equals(bytes), `${name} differs`).toBe(true);
      expect(again.config).toEqual(loaded.config);
      for (const [name, { shape, data }] of loaded.weights) {
        expect(again.weights.get(name)!.shape).toEqual(shape);
        expect(bytesOf(again.weights.get(name)!.data).equals(bytesOf(data)), `${name} differs`).toBe(true);
      }
    },
  );
});
