/**
 * `seapo export`: hands a `seapo train` run to a multi-GPU engine, LLaMA-Factory or TRL, as a
 * recipe: the rows in the engine's format, a config with the hyperparameters `seapo train` would
 * use, the launch files and a README. Both engines take transformers' TrainingArguments
 * (learning_rate, lr_scheduler_type, warmup_*, num_train_epochs, per_device_train_batch_size, …).
 *
 * buildRecipe is pure (a TrainConfig and the checked rows in, the files and the command out);
 * writeRecipe reads the rows and writes the files.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { SeapoError } from "../../errors.js";
import { toJsonLines, writeFileAtomic } from "../../io/index.js";
import type { TrainConfig } from "../config.js";
import { readPreferenceRows } from "../data.js";
import type { Recipe, RecipeOptions, RowsFrom } from "./common.js";
import { llamaFactoryRecipe } from "./llamafactory.js";
import { trlRecipe } from "./trl.js";

export {
  RECIPE_FILES,
  RECIPE_TARGETS,
  TRL_FORMATS,
  ZERO_STAGES,
  type Recipe,
  type RecipeFile,
  type RecipeOptions,
  type RecipeTarget,
  type RowsFrom,
  type TrlFormat,
  type ZeroStage,
} from "./common.js";
export { accelerateConfig, deepSpeedConfig, deepSpeedFile } from "./launch.js";
export { llamaFactoryTemplate } from "./llamafactory.js";
export { llamaFactoryLoss, trlLoss } from "./losses.js";
export {
  DEFAULT_TRL_VERSION,
  LLAMAFACTORY_TARGET,
  TRL_TARGETS,
  TRL_VERSIONS,
  type TrlTarget,
  type TrlVersion,
} from "./targets.js";
export { scheduleKeys } from "./training-arguments.js";
export { yamlText } from "./yaml.js";

export function buildRecipe(
  config: TrainConfig,
  train: RowsFrom,
  evalRows: RowsFrom | undefined,
  options: RecipeOptions,
): Recipe {
  if (!Number.isInteger(options.gpus) || options.gpus < 1)
    throw new SeapoError(`--gpus must be a whole number ≥ 1, got ${options.gpus}`);
  return options.target === "llamafactory"
    ? llamaFactoryRecipe(config, train, evalRows, options)
    : trlRecipe(config, train, evalRows, options);
}

export interface RecipeSummary {
  /** The recipe's files, relative to config.out (rejects.jsonl not counted). */
  files: string[];
  command: string;
  rows: number;
  rejects: number;
  /** Recipe.notes: what the user must know before launching. */
  notes: string[];
}

/**
 * Reads the rows with the trainer's checks (so --skip-invalid rejects the same rows `seapo train`
 * would), builds the recipe and writes it under config.out, each file atomically.
 */
export async function writeRecipe(config: TrainConfig, options: RecipeOptions): Promise<RecipeSummary> {
  const read = async (file: string): Promise<RowsFrom & { rejects: unknown[] }> => {
    const { data, rejects } = await readPreferenceRows(file, { skipInvalid: config.skipInvalid });
    return { file, data, rejects };
  };
  const train = await read(config.data);
  const evalRows = config.evalData === undefined ? undefined : await read(config.evalData);
  const recipe = buildRecipe(config, train, evalRows, options);
  const files = recipe.files.map((f) => f.path);
  if (train.rejects.length > 0) recipe.files.push({ path: "rejects.jsonl", text: toJsonLines(train.rejects) });
  for (const file of recipe.files) {
    const path = join(config.out, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, file.text);
  }
  return { files, command: recipe.command, rows: recipe.rows, rejects: train.rejects.length, notes: recipe.notes };
}
