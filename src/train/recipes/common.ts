/**
 * What every `seapo export` recipe shares: the targets and options, the shape of a recipe (files
 * relative to its folder and a launch command), and the rows a loss trains on.
 */
import type { TrainConfig } from "../config.js";
import { rowsForLoss, type PreferenceRows } from "../data.js";
import type { LossRequirements } from "../losses/index.js";

export const RECIPE_TARGETS = ["llamafactory", "trl"] as const;
export type RecipeTarget = (typeof RECIPE_TARGETS)[number];
/** DeepSpeed ZeRO stage of the written config, or none (plain data parallel). */
export const ZERO_STAGES = ["none", "2", "3"] as const;
export type ZeroStage = (typeof ZERO_STAGES)[number];
/** TRL row shape: conversational (message lists, the chat template applied as `seapo train` does) or standard (plain text). */
export const TRL_FORMATS = ["conversational", "standard"] as const;
export type TrlFormat = (typeof TRL_FORMATS)[number];

export interface RecipeOptions {
  target: RecipeTarget;
  /** LLaMA-Factory chat template; guessed from the model name when absent. */
  template?: string;
  /** GPUs per machine. */
  gpus: number;
  zero: ZeroStage;
  trlFormat: TrlFormat;
}

/** Rows as read by readPreferenceRows, with the file they came from (for errors). */
export interface RowsFrom {
  file: string;
  data: PreferenceRows;
}

export interface RecipeFile {
  /** Relative to the recipe folder. */
  path: string;
  text: string;
}

export interface Recipe {
  files: RecipeFile[];
  /** Run from inside the recipe folder. */
  command: string;
  rows: number;
}

/** Every path in a recipe is relative to the recipe folder (--out), so it can be copied to a cluster as is. */
export const RECIPE_FILES = {
  readme: "README.md",
  dataDir: "data",
  llamaFactoryConfig: "train.yaml",
  datasetInfo: "data/dataset_info.json",
  trlConfig: "trl.yaml",
  accelerateConfig: "accelerate.yaml",
  trlTrain: "data/train.jsonl",
  trlTest: "data/test.jsonl",
  outputDir: "output",
} as const;

/** Key → value of a written config (YAML or JSON). */
export type Keys = Record<string, string | number | boolean | string[] | number[] | null | Record<string, number>>;

/** The rows of `rows` a loss of `kind` trains on, refused as the trainer refuses them. */
export function rowsForRecipe(rows: RowsFrom, kind: LossRequirements["kind"], config: TrainConfig): PreferenceRows {
  return rowsForLoss(rows.data, kind, {
    file: rows.file,
    loss: config.loss,
    hint: "export dpo.jsonl, or use --loss kto",
  });
}
