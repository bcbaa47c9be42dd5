/**
 * What every `seapo export` recipe shares: the targets and options, the shape of a recipe (files
 * relative to its folder and a launch command), and the rows a loss trains on.
 */
import { spreadByPrompt } from "../../data/index.js";
import type { TrainConfig } from "../config.js";
import { rowsForLoss, type PreferenceRows, type UnpairedRow } from "../data.js";
import type { LossRequirements } from "../losses/index.js";
import type { TrlVersion } from "./targets.js";

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
  /** The TRL release line the recipe is written for. */
  trlVersion: TrlVersion;
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
  /** Where the recipe differs from `seapo train` in ways the user must know: in the README, and printed by `seapo export`. */
  notes: string[];
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

/** Rows in the order a recipe writes them; `conflicts`: KTO rows that could not be kept a window away from their prompt's others. */
export type OrderedRows = PreferenceRows & { conflicts: number };

/**
 * The rows of `rows` a loss of `kind` trains on, refused as the trainer refuses them. Unpaired rows
 * are put in spreadByPrompt's seeded order: TRL and LLaMA-Factory pair each KTO row with a
 * neighbour's completion for the KL reference point (test/helpers/kl-rows.ts simulates both), so no
 * per-device batch may hold two rows of one prompt.
 */
export function rowsForRecipe(rows: RowsFrom, kind: LossRequirements["kind"], config: TrainConfig): OrderedRows {
  const chosen = rowsForLoss(rows.data, kind, {
    file: rows.file,
    loss: config.loss,
    hint: "export dpo.jsonl, or use --loss kto",
  });
  if (chosen.kind === "paired") return { ...chosen, conflicts: 0 };
  const spread = spreadByPrompt(chosen.rows, promptKey, { window: klWindow(config), seed: config.seed });
  return { kind: "unpaired", rows: spread.rows, conflicts: spread.conflicts };
}

/** What the README says about the order of KTO rows (none for pairs). */
export function orderNotes(rows: OrderedRows, config: TrainConfig): string[] {
  if (rows.kind === "paired") return [];
  const window = klWindow(config);
  return [
    `The KTO rows are in a seeded order (seed ${config.seed}) in which no ${window} consecutive rows share a prompt: the engine builds KTO's KL rows from each row's neighbours, so keep the file's order.`,
    ...(rows.conflicts === 0
      ? []
      : [
          `${rows.conflicts} KTO row(s) could not be kept ${window} rows away from another row of their prompt (one prompt holds too many of the rows); their KL rows may pair a prompt with its own answer.`,
        ]),
  ];
}

/** The rows in which no prompt may repeat: TRL's per-device batch, and at least a row and its neighbour. */
function klWindow(config: TrainConfig): number {
  return Math.max(2, config.batchSize);
}

function promptKey(row: UnpairedRow): string {
  return JSON.stringify(row.messages.map(({ role, content }) => [role, content]));
}

/** The reference model or adapter the run names (`--ref-model`, `--ref-adapter`), paths as given. */
export function referenceSource(config: TrainConfig): { model?: string; adapter?: string } {
  const { refModel, refAdapter } = config;
  return {
    ...(refModel === undefined ? {} : { model: refModel }),
    ...(refAdapter === undefined ? {} : { adapter: refAdapter }),
  };
}
