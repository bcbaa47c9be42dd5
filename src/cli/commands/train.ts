import { Option, type Command } from "commander";
import { LORA_TARGETS } from "../../engine/index.js";
import { InputError } from "../../errors.js";
import { GGUF_TYPES, REFERENCE_MODES, SCHEDULES } from "../../train/config.js";
import { LOSS_NAMES } from "../../train/losses/index.js";
import { loadTrainConfig } from "../../train/config.js";
import { train } from "../../train/train.js";

/** A number flag; zod checks its range once the flags and the YAML file are merged. */
function numberArg(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n))
      throw new InputError(flag, undefined, undefined, `expected a number, got "${value}"`);
    return n;
  };
}

export interface TrainFlags {
  config?: string;
  model?: string;
  data?: string;
  out?: string;
  evalData?: string;
  loss?: string;
  beta?: number;
  finetuning?: "lora" | "full";
  loraRank?: number;
  loraAlpha?: number;
  loraDropout?: number;
  loraTargets?: string;
  lr?: number;
  schedule?: string;
  warmupSteps?: number;
  warmupRatio?: number;
  minLrRatio?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  epochs?: number;
  maxSteps?: number;
  batchSize?: number;
  gradAccum?: number;
  maxLength?: number;
  bucketing?: boolean;
  seed?: number;
  reference?: string;
  referenceCache?: string;
  logEvery?: number;
  saveEvery?: number;
  keepCheckpoints?: number;
  evalEvery?: number;
  skipInvalid?: boolean;
  adapter?: boolean;
  merged?: boolean;
  gguf?: string;
  resume?: boolean;
}

/**
 * Every `seapo train` option once, as commander Options: `seapo train` adds them all and
 * `seapo export` adds the ones that mean something in a handed-off recipe.
 */
function trainOptions(): Option[] {
  const number = (flags: string, description: string): Option =>
    new Option(flags, description).argParser(numberArg(flags.split(" ")[0]!));
  return [
    new Option("--config <file>", "YAML file of options (flags override it)"),
    new Option("--model <dir>", "Hugging Face model folder to train (required here or in --config)"),
    new Option("--data <file>", "kto.jsonl or dpo.jsonl written by seapo inject (required here or in --config)"),
    new Option("--out <dir>", "output folder (required here or in --config)"),
    new Option(
      "--eval-data <file>",
      "held-out rows in the same format, scored every --eval-every steps and at the end",
    ),
    new Option("--loss <spec>", "a loss, or weighted terms such as sigmoid:1,sft:0.1 (default kto)"),
    number("--beta <n>", "beta of every loss that takes one (default 0.1)"),
    new Option("--finetuning <kind>", "train LoRA adapters or every weight (default lora)").choices(["lora", "full"]),
    number("--lora-rank <n>", "LoRA rank r (default 8)"),
    number("--lora-alpha <n>", "LoRA alpha; the update is scaled by alpha/r (default 16)"),
    number("--lora-dropout <p>", "dropout on the adapters' input while training (default 0)"),
    new Option("--lora-targets <list>", `comma-separated modules to wrap (default all: ${LORA_TARGETS.join(",")})`),
    number("--lr <n>", "peak learning rate (default 5e-6)"),
    new Option("--schedule <name>", "learning-rate schedule after warm-up (default cosine)").choices(SCHEDULES),
    number("--warmup-steps <n>", "linear warm-up steps (default 0)"),
    number("--warmup-ratio <r>", "warm-up as a share of all steps, when --warmup-steps is 0 (default 0)"),
    number("--min-lr-ratio <r>", "the schedule ends at lr x this (default 0)"),
    number("--weight-decay <n>", "AdamW decoupled weight decay (default 0)"),
    number("--max-grad-norm <n>", "clip the global gradient norm; 0 turns clipping off (default 1)"),
    number("--epochs <n>", "passes over the data (default 3)"),
    number("--max-steps <n>", "stop after this many optimizer steps (overrides --epochs)"),
    number("--batch-size <n>", "rows per micro-batch (default 2)"),
    number("--grad-accum <n>", "micro-batches per optimizer step (default 8)"),
    number(
      "--max-length <n>",
      "cut-off in tokens; completions are cut keeping their start, prompts that do not fit are dropped (default 2048)",
    ),
    new Option("--no-bucketing", "do not group rows of similar length into batches"),
    number("--seed <n>", "seed of the data order, LoRA init and dropout (default 42)"),
    new Option(
      "--reference <mode>",
      "reference log-probs (default adapter-disabled for LoRA, frozen-copy for full)",
    ).choices(REFERENCE_MODES),
    new Option("--reference-cache <dir>", "folder for --reference cached (default <out>/reference-cache)"),
    number("--log-every <n>", "optimizer steps between metrics lines (default 10)"),
    number("--save-every <n>", "optimizer steps between checkpoints (default 100)"),
    number("--keep-checkpoints <n>", "newest checkpoints kept (default 2)"),
    number("--eval-every <n>", "optimizer steps between evaluations on --eval-data (default: at the end only)"),
    new Option("--skip-invalid", "count bad rows into <out>/rejects.jsonl instead of stopping at the first"),
    new Option("--no-adapter", "do not write adapter/ (LoRA)"),
    new Option("--no-merged", "do not write the merged model/ folder"),
    new Option("--gguf <type>", "also write model.gguf with weight matrices of this type").choices(GGUF_TYPES),
    new Option("--resume", "continue from the newest checkpoint in --out"),
  ];
}

/** Adds the training options to a command, leaving out those named in `except` (long flags, e.g. "--resume"). */
export function addTrainOptions(command: Command, except: readonly string[] = []): Command {
  for (const option of trainOptions()) if (!except.includes(option.long!)) command.addOption(option);
  return command;
}

/**
 * The training options given on the command line, as overrides for loadTrainConfig. Only flags
 * typed by the user count, so a YAML file's values survive (commander fills --no-* defaults).
 */
export function trainOverrides(flags: TrainFlags, command: Command): Record<string, unknown> {
  const pick = <K extends keyof TrainFlags>(name: K): TrainFlags[K] | undefined =>
    command.getOptionValueSource(name) === "cli" ? flags[name] : undefined;
  const lora = {
    rank: pick("loraRank"),
    alpha: pick("loraAlpha"),
    dropout: pick("loraDropout"),
    targets: pick("loraTargets")
      ?.split(",")
      .map((t) => t.trim()),
  };
  return {
    model: pick("model"),
    data: pick("data"),
    out: pick("out"),
    evalData: pick("evalData"),
    loss: pick("loss"),
    beta: pick("beta"),
    finetuning: pick("finetuning"),
    lora: Object.fromEntries(Object.entries(lora).filter(([, v]) => v !== undefined)),
    lr: pick("lr"),
    schedule: pick("schedule"),
    warmupSteps: pick("warmupSteps"),
    warmupRatio: pick("warmupRatio"),
    minLrRatio: pick("minLrRatio"),
    weightDecay: pick("weightDecay"),
    maxGradNorm: pick("maxGradNorm"),
    epochs: pick("epochs"),
    maxSteps: pick("maxSteps"),
    batchSize: pick("batchSize"),
    gradAccum: pick("gradAccum"),
    maxLength: pick("maxLength"),
    lengthBucketing: pick("bucketing"),
    seed: pick("seed"),
    reference: pick("reference"),
    referenceCache: pick("referenceCache"),
    logEvery: pick("logEvery"),
    saveEvery: pick("saveEvery"),
    keepCheckpoints: pick("keepCheckpoints"),
    evalEvery: pick("evalEvery"),
    skipInvalid: pick("skipInvalid"),
    saveAdapter: pick("adapter"),
    saveMerged: pick("merged"),
    gguf: pick("gguf"),
    resume: pick("resume"),
  };
}

export function registerTrainCommand(program: Command): void {
  const command = program
    .command("train")
    .summary("preference-train a model folder on SeaPO rows (KTO by default)")
    .description(
      "Trains a Hugging Face model folder (llama or qwen2) on kto.jsonl {prompt, completion, label} or dpo.jsonl " +
        "{prompt, chosen, rejected} rows from `seapo inject`, tokenized with the model's chat template as at inference. " +
        "Defaults follow the SeaPO paper: KTO, LoRA r 8 / alpha 16 on all linear layers, beta 0.1, lr 5e-6 cosine without " +
        "warm-up, 3 epochs, batch 2 x accumulation 8, cut-off 2048.\n\n" +
        "Options may also come from a YAML file (--config) with the same names in camelCase (lora: {rank, alpha, dropout, targets}, " +
        "lossParams: {kto: {desirable_weight: 1}}); flags override the file.\n\n" +
        "Writes to --out: metrics.jsonl (one line per log step: loss, rewards/*, logps/*, kl, grad_norm, lr, tokens/s, elapsed), " +
        "checkpoints/step-N (atomic; adapter or weights, optimizer, step), adapter/ (PEFT), model/ (merged HF folder), " +
        "model.gguf (with --gguf), run.json (resolved config, data hash, versions), rejects.jsonl (with --skip-invalid).\n\n" +
        `Losses: ${LOSS_NAMES.join(", ")} (alias sigmoid = dpo_sigmoid).`,
    );
  addTrainOptions(command).action(async (flags: TrainFlags, cmd: Command) => {
    const config = await loadTrainConfig(flags.config, trainOverrides(flags, cmd));
    const summary = await train(config);
    const resumed = summary.resumedFrom === undefined ? "" : ` (resumed at step ${summary.resumedFrom})`;
    const loss = summary.lastMetrics.loss;
    console.log(
      `trained ${summary.steps} steps on ${summary.rows} rows${resumed}; final loss ${loss === undefined ? "n/a" : loss.toFixed(4)}; wrote ${config.out}/{${summary.outputs.join(",")}}`,
    );
  });
}
