/**
 * How a recipe is launched: the DeepSpeed ZeRO config (shaped like LLaMA-Factory's
 * examples/deepspeed/ds_z{2,3}_config.json), accelerate's launch config for `trl` (shaped like TRL's
 * examples/accelerate_configs/*.yaml), and the README with the command.
 */
import type { TrainConfig } from "../config.js";
import { RECIPE_FILES, type RecipeFile, type RecipeOptions, type ZeroStage } from "./common.js";

export function deepSpeedFile(zero: Exclude<ZeroStage, "none">): string {
  return `ds_z${zero}_config.json`;
}

/** A ZeRO-2 or ZeRO-3 config whose batch, clipping and precision values are "auto" (filled from the trainer's arguments). */
export function deepSpeedConfig(zero: Exclude<ZeroStage, "none">): Record<string, unknown> {
  const stage =
    zero === "2"
      ? {
          stage: 2,
          allgather_partitions: true,
          allgather_bucket_size: 500_000_000,
          overlap_comm: false,
          reduce_scatter: true,
          reduce_bucket_size: 500_000_000,
          contiguous_gradients: true,
          round_robin_gradients: true,
        }
      : {
          stage: 3,
          overlap_comm: false,
          contiguous_gradients: true,
          sub_group_size: 1_000_000_000,
          reduce_bucket_size: "auto",
          stage3_prefetch_bucket_size: "auto",
          stage3_param_persistence_threshold: "auto",
          stage3_max_live_parameters: 1_000_000_000,
          stage3_max_reuse_distance: 1_000_000_000,
          stage3_gather_16bit_weights_on_model_save: true,
        };
  return {
    train_batch_size: "auto",
    train_micro_batch_size_per_gpu: "auto",
    gradient_accumulation_steps: "auto",
    gradient_clipping: "auto",
    zero_allow_untested_optimizer: true,
    fp16: {
      enabled: "auto",
      loss_scale: 0,
      loss_scale_window: 1000,
      initial_scale_power: 16,
      hysteresis: 2,
      min_loss_scale: 1,
    },
    bf16: { enabled: "auto" },
    zero_optimization: stage,
  };
}

/**
 * accelerate's launch config for `trl`: one machine with `gpus` processes, DeepSpeed through the
 * JSON file above (accelerate refuses values set in both places, so batch and precision live in
 * the JSON only), or plain multi-GPU data parallel.
 */
export function accelerateConfig(gpus: number, zero: ZeroStage): Record<string, unknown> {
  const common = {
    compute_environment: "LOCAL_MACHINE",
    debug: false,
    downcast_bf16: "no",
    machine_rank: 0,
    main_training_function: "main",
    num_machines: 1,
    num_processes: gpus,
    rdzv_backend: "static",
    same_network: true,
    tpu_env: [],
    tpu_use_cluster: false,
    tpu_use_sudo: false,
    use_cpu: false,
  };
  if (zero === "none")
    return { ...common, distributed_type: gpus > 1 ? "MULTI_GPU" : "NO", gpu_ids: "all", mixed_precision: "no" };
  return {
    ...common,
    distributed_type: "DEEPSPEED",
    deepspeed_config: {
      deepspeed_config_file: deepSpeedFile(zero),
      deepspeed_multinode_launcher: "standard",
      zero3_init_flag: zero === "3",
    },
  };
}

/** The ZeRO config file a recipe with --zero 2 or 3 ships (none for --zero none). */
export function deepSpeedFiles(zero: ZeroStage): RecipeFile[] {
  if (zero === "none") return [];
  return [{ path: deepSpeedFile(zero), text: `${JSON.stringify(deepSpeedConfig(zero), null, 2)}\n` }];
}

/** What a README is built from besides the run's config. */
export interface ReadmeParts {
  files: readonly RecipeFile[];
  command: string;
  rows: number;
  /** The engine version the recipe is written for, in words. */
  target: string;
  /** Differences from `seapo train` that this recipe has (Recipe.notes). */
  notes: readonly string[];
  alternative?: string;
}

/** README.md: the run in words, the files, the launch command and what differs from `seapo train`. */
export function readme(config: TrainConfig, options: RecipeOptions, parts: ReadmeParts): string {
  const engine = options.target === "llamafactory" ? "LLaMA-Factory" : "TRL";
  const effective = config.batchSize * config.gradAccum;
  const { alternative } = parts;
  const lines = [
    `# seapo export → ${engine}`,
    "",
    `The \`seapo train\` run below, handed to ${engine}: loss \`${config.loss}\` (beta ${config.beta}), lr ${config.lr} ${config.schedule}, ` +
      `${config.epochs} epoch(s), batch ${config.batchSize} × accumulation ${config.gradAccum}, cut-off ${config.maxLength}, ` +
      (config.finetuning === "lora"
        ? `LoRA r ${config.lora.rank} / alpha ${config.lora.alpha} on ${config.lora.targets.join(", ")}, `
        : "full fine-tuning, ") +
      `seed ${config.seed}; model \`${config.model}\`; ${parts.rows} training row(s).`,
    "",
    `Written for ${parts.target}: every key is a field of that version's config classes.`,
    "",
    "## Files",
    "",
    ...parts.files.map((f) => `- \`${f.path}\``),
    `- \`${RECIPE_FILES.readme}\` (this file)`,
    "",
    "## Launch",
    "",
    "Every path is relative to this folder: run from here (copy the folder to the cluster as it is).",
    "",
    "```bash",
    parts.command,
    "```",
    ...(alternative === undefined ? [] : ["", "or, with accelerate directly:", "", "```bash", alternative, "```"]),
    "",
    "## Notes",
    "",
    ...parts.notes.map((note) => `- ${note}`),
    `- Each optimizer step sees ${options.gpus} GPU(s) × ${config.batchSize} × ${config.gradAccum} rows; \`seapo train\` sees ${effective}. ` +
      `To keep its effective batch, divide \`gradient_accumulation_steps\` by the number of GPUs.`,
    options.target === "llamafactory"
      ? `- More machines: set NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT before the command on each one.`
      : `- More machines: set \`num_machines\`, \`machine_rank\` and the main process address in \`${RECIPE_FILES.accelerateConfig}\` on each one.`,
    `- bf16 mixed precision is on (\`seapo train\` computes in float32 on the CPU).`,
    `- Checkpoints and the trained adapter go to \`${RECIPE_FILES.outputDir}/\`.`,
  ];
  return `${lines.join("\n")}\n`;
}
