import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  fromPeftName,
  loadLoraAdapter,
  saveLoraAdapter,
  type LoraAdapter,
} from "../../../src/engine/io/lora-adapter.js";
import { presetModel, randomWeights } from "../../../src/engine/io/init.js";
import { readSafetensorsHeader } from "../../../src/engine/io/safetensors.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import type { WeightMap } from "../../../src/engine/models/config.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-lora-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const matrix = (rows: number, columns: number, start = 0): { shape: number[]; data: Float32Array } => ({
  shape: [rows, columns],
  data: Float32Array.from({ length: rows * columns }, (_, i) => start + i / 100),
});

/** Rank 2 on q_proj [64, 64] and v_proj [32, 64] of layer 0 (the tiny preset's shapes). */
const adapter: LoraAdapter = {
  baseModelPath: "/models/tiny-llama",
  rank: 2,
  alpha: 4,
  targetModules: ["q_proj", "v_proj"],
  dropout: 0.05,
  weights: new Map([
    ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", matrix(2, 64)],
    ["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", matrix(64, 2, 1)],
    ["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", matrix(2, 64, 2)],
    ["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", matrix(32, 2, 3)],
  ]),
};

describe("saveLoraAdapter / loadLoraAdapter", () => {
  it("writes PEFT's adapter_config.json and tensor names, and reads them back", async () => {
    const folder = join(dir, "adapter");
    await saveLoraAdapter(folder, adapter);
    const config = JSON.parse(readFileSync(join(folder, "adapter_config.json"), "utf8"));
    expect(config).toMatchObject({
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: 2,
      lora_alpha: 4,
      lora_dropout: 0.05,
      target_modules: ["q_proj", "v_proj"],
      bias: "none",
      fan_in_fan_out: false,
      base_model_name_or_path: "/models/tiny-llama",
      use_dora: false,
      use_rslora: false,
      modules_to_save: null,
    });
    const header = await readSafetensorsHeader(join(folder, "adapter_model.safetensors"));
    expect([...header.tensors.keys()].sort()).toEqual([...adapter.weights.keys()].sort());
    expect(header.metadata.format).toBe("pt");
    expect(await loadLoraAdapter(folder)).toEqual(adapter);
  });

  it("accepts the engine's names (no base_model.model. prefix) and saves what LlamaModel.applyLora makes", async () => {
    const { config } = presetModel({ architecture: "llama", preset: "tiny" });
    const model = LlamaModel.fromWeights(config, randomWeights(config, 1));
    const params = model.applyLora({ rank: 4, alpha: 8, targets: ["q_proj", "down_proj"] });
    const weights: WeightMap = new Map([...params].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }]));
    expect([...weights.keys()][0]).toBe("model.layers.0.self_attn.q_proj.lora_A.weight");
    const folder = join(dir, "from-engine");
    await saveLoraAdapter(folder, {
      baseModelPath: "base",
      rank: 4,
      alpha: 8,
      targetModules: ["q_proj", "down_proj"],
      dropout: 0,
      weights,
    });
    const loaded = await loadLoraAdapter(folder);
    expect(loaded.weights.size).toBe(2 * 2 * config.numLayers);
    const engineNamed = new Map([...loaded.weights].map(([name, t]) => [fromPeftName(name), t]));
    model.loadParameters(engineNamed);
    expect(engineNamed.get("model.layers.1.mlp.down_proj.lora_A.weight")!.shape).toEqual([4, 128]);
  });

  it.each([
    [
      "a module outside target_modules",
      ["base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", matrix(2, 64)],
      /up_proj\.lora_A\.weight: module "up_proj" is not in target_modules/,
    ],
    [
      "an A matrix of the wrong rank",
      ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", matrix(3, 64)],
      /q_proj\.lora_A\.weight: shape \[3, 64\] does not have rank r = 2 rows/,
    ],
    [
      "a name that is not a LoRA tensor",
      ["base_model.model.model.layers.0.self_attn.q_proj.weight", matrix(2, 2)],
      /q_proj\.weight: not a LoRA tensor name/,
    ],
  ] as const)("refuses %s", async (_, [name, tensor], message) => {
    const weights = new Map(adapter.weights);
    weights.set(name, tensor);
    await expect(saveLoraAdapter(join(dir, "bad"), { ...adapter, weights })).rejects.toThrow(message);
  });

  it("refuses an A without its B", async () => {
    const weights = new Map(adapter.weights);
    weights.delete("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight");
    await expect(saveLoraAdapter(join(dir, "bad"), { ...adapter, weights })).rejects.toThrow(
      /v_proj: has lora_A but no lora_B/,
    );
  });

  it.each([
    ["use_dora", true, /adapter_config\.json:use_dora: .*\n {2}hint: DoRA adapters are not supported/],
    ["use_rslora", true, /adapter_config\.json:use_rslora:/],
    ["bias", "all", /adapter_config\.json:bias:/],
    ["target_modules", "q_proj|v_proj", /adapter_config\.json:target_modules: .*\n {2}hint: a list of module names/],
    ["peft_type", "IA3", /adapter_config\.json:peft_type:/],
  ])("refuses an adapter_config.json with %s = %j", async (field, value, message) => {
    const folder = join(dir, `config-${field}`);
    await saveLoraAdapter(folder, adapter);
    const path = join(folder, "adapter_config.json");
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), [field]: value }));
    await expect(loadLoraAdapter(folder)).rejects.toThrow(message);
  });
});
