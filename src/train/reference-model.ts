/**
 * The reference model when it is not the base weights (TRL's `ref_model`; LLaMA-Factory's
 * `ref_model` / `ref_model_adapters`): another Hugging Face folder of the same tokenizer
 * (--ref-model), and/or a PEFT LoRA adapter merged into it or into the base (--ref-adapter), e.g.
 * the SFT checkpoint SeaPO starts from.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ADAPTER_CONFIG_FILE,
  fromPeftName,
  type HfModel,
  LlamaModel,
  LORA_TARGETS,
  type LoraTarget,
  loadHfModel,
  loadLoraAdapter,
  type WeightMap,
} from "../engine/index.js";
import { InputError } from "../errors.js";
import type { TrainConfig } from "./config.js";

/** The frozen reference and the weights that identify it (for the reference cache key); undefined: the base. */
export async function loadReferenceModel(
  config: Pick<TrainConfig, "model" | "refModel" | "refAdapter">,
  base: HfModel,
): Promise<{ model: LlamaModel; weights: WeightMap } | undefined> {
  if (config.refModel === undefined && config.refAdapter === undefined) return undefined;
  let start = base;
  if (config.refModel !== undefined) {
    const ref = await loadHfModel(config.refModel);
    const same = (dir: string) => readFileSync(join(dir, "tokenizer.json"), "utf8");
    if (same(config.refModel) !== same(config.model))
      throw new InputError(
        join(config.refModel, "tokenizer.json"),
        undefined,
        undefined,
        `the reference model's tokenizer differs from ${join(config.model, "tokenizer.json")}`,
        "the reference scores the policy's token ids, so it needs the same tokenizer",
      );
    start = ref;
  }
  const model = LlamaModel.fromWeights(start.config, start.weights);
  if (config.refAdapter === undefined) return { model, weights: start.weights };
  await mergeAdapter(model, config.refAdapter);
  return { model, weights: model.weights() };
}

/** Wraps the adapter's target layers, loads its A/B weights and folds them into the weights. */
async function mergeAdapter(model: LlamaModel, dir: string): Promise<void> {
  const adapter = await loadLoraAdapter(dir);
  const unknown = adapter.targetModules.filter((name) => !(LORA_TARGETS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new InputError(
      join(dir, ADAPTER_CONFIG_FILE),
      undefined,
      "target_modules",
      `the engine cannot place adapters on ${unknown.join(", ")}`,
      `targets are ${LORA_TARGETS.join(", ")}`,
    );
  model.applyLora({ rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targetModules as LoraTarget[] });
  model.loadParameters(new Map([...adapter.weights].map(([name, tensor]) => [fromPeftName(name), tensor])));
  model.mergeLora();
}
