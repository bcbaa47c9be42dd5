/**
 * The reference model when it is not the base weights (TRL's `ref_model`; LLaMA-Factory's
 * `ref_model` / `ref_model_adapters`): another Hugging Face folder of the same tokenizer
 * (--ref-model), and/or a PEFT LoRA adapter merged into it or into the base (--ref-adapter), e.g.
 * the SFT checkpoint SeaPO starts from.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type HfModel, LlamaModel, loadHfModel, mergeLoraAdapter, type WeightMap } from "../engine/index.js";
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
  await mergeLoraAdapter(model, config.refAdapter);
  return { model, weights: model.weights() };
}
