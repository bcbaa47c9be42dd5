/**
 * The engine versions a recipe is written for, and what each can express. Every fact here was read
 * from that version's sources; test/train/export-targets.test.ts checks each one against
 * test/train/fixtures/export-allow-lists.json, which test/train/generators/export_allow_lists.py
 * builds from the same sources with Python's ast (repository, tag, commit and file per list).
 */

/** TRL release lines a recipe can target (`--trl-version`); each stands for the tag in TRL_TARGETS. */
export const TRL_VERSIONS = ["0.28", "1.0", "1.4", "1.9"] as const;
export type TrlVersion = (typeof TRL_VERSIONS)[number];
/** The current release line. */
export const DEFAULT_TRL_VERSION: TrlVersion = "1.9";

export interface TrlTarget {
  tag: string;
  commit: string;
  /** DPOConfig's loss_type values. */
  dpoLossTypes: readonly string[];
  /** DPOTrainer's `sigmoid` loss mixes in label_smoothing (cDPO); from v0.29 it ignores it. */
  sigmoidReadsLabelSmoothing: boolean;
  /** DPOConfig still has max_prompt_length (removed in v0.29). */
  dpoMaxPromptLength: boolean;
  /**
   * `trl dpo|kto` hands launch arguments (`--accelerate_config FILE`) to `accelerate launch`. Up to
   * v0.28, trl/cli.py builds the launch from the script path alone and drops them.
   */
  cliPassesAccelerateConfig: boolean;
}

const DPO_LOSSES_0_28 = [
  "sigmoid",
  "hinge",
  "ipo",
  "exo_pair",
  "nca_pair",
  "robust",
  "bco_pair",
  "sppo_hard",
  "aot",
  "aot_unpaired",
  "discopop",
  "apo_zero",
  "apo_down",
  "sft",
] as const;

export const TRL_TARGETS: Readonly<Record<TrlVersion, TrlTarget>> = {
  "0.28": {
    tag: "v0.28.0",
    commit: "49ef33428c47235991acb4e185ea599b70c6dab4",
    dpoLossTypes: DPO_LOSSES_0_28,
    sigmoidReadsLabelSmoothing: true,
    dpoMaxPromptLength: true,
    cliPassesAccelerateConfig: false,
  },
  "1.0": {
    tag: "v1.0.0",
    commit: "f3e9ac1005980fded7192682599c70749785fa9b",
    dpoLossTypes: DPO_LOSSES_0_28,
    sigmoidReadsLabelSmoothing: false,
    dpoMaxPromptLength: false,
    cliPassesAccelerateConfig: true,
  },
  "1.4": {
    tag: "v1.4.0",
    commit: "42d82914fa7cb20ddc49452a88445acba2c72805",
    dpoLossTypes: [...DPO_LOSSES_0_28, "sigmoid_norm"],
    sigmoidReadsLabelSmoothing: false,
    dpoMaxPromptLength: false,
    cliPassesAccelerateConfig: true,
  },
  "1.9": {
    tag: "v1.9.0",
    commit: "35def3ee000a87f6839e66f4b7749b06274ed1b3",
    dpoLossTypes: [...DPO_LOSSES_0_28, "sigmoid_norm"],
    sigmoidReadsLabelSmoothing: false,
    dpoMaxPromptLength: false,
    cliPassesAccelerateConfig: true,
  },
};

/** The LLaMA-Factory revision the recipe's keys and row format were read from. */
export const LLAMAFACTORY_TARGET = {
  describe: "v0.9.5-54-gff6d4d12e",
  commit: "ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30",
} as const;
