/** What a finished run leaves in --out besides its metrics: the PEFT adapter, the merged model, the GGUF file. */
import { join } from "node:path";
import {
  exportGguf,
  type HfModel,
  type LlamaModel,
  saveHfModel,
  saveLoraAdapter,
  type WeightMap,
} from "../engine/index.js";
import type { TrainConfig } from "./config.js";

/** The trained model in memory, as the merged model/ folder would load it (float32, LoRA merged in). */
export type TrainedModel = Omit<HfModel, "dir">;

/**
 * Writes the outputs the config asks for and returns their names under --out, with the trained
 * model. The adapter is saved before LoRA is merged into the base weights.
 */
export async function saveOutputs(
  policy: LlamaModel,
  base: HfModel,
  config: TrainConfig,
): Promise<{ outputs: string[]; model: TrainedModel }> {
  const out = config.out;
  const lora = config.finetuning === "lora";
  const outputs: string[] = [];
  if (lora && config.saveAdapter) {
    const weights: WeightMap = new Map(
      [...policy.adapterParameters()].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }]),
    );
    await saveLoraAdapter(join(out, "adapter"), {
      baseModelPath: config.model,
      rank: config.lora.rank,
      alpha: config.lora.alpha,
      targetModules: [...config.lora.targets],
      dropout: config.lora.dropout,
      weights,
    });
    outputs.push("adapter/");
  }
  if (lora) policy.mergeLora();
  const model: TrainedModel = { config: base.config, weights: policy.weights(), tokenizer: base.tokenizer };
  if (config.saveMerged) {
    await saveHfModel(join(out, "model"), model);
    outputs.push("model/");
  }
  if (config.gguf !== undefined) {
    await exportGguf(model, join(out, "model.gguf"), { type: config.gguf });
    outputs.push("model.gguf");
  }
  return { outputs, model };
}
