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
    if (value.trim() === "" || !Number.isFinite(n)) throw new InputError(flag, undefined, undefined, `expected a number, got "${value}"`);
    return n;
  };
}

interface TrainFlags {
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

export function registerTrainCommand(program: Command): void {
  program
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
    )
    .option("--config <file>", "YAML file of options (flags override it)")
    .option("--model <dir>", "Hugging Face model folder to train (required here or in --config)")
    .option("--data <file>", "kto.jsonl or dpo.jsonl written by seapo inject (required here or in --config)")
    .option("--out <dir>", "output folder (required here or in --config)")
    .option("--eval-data <file>", "held-out rows in the same format, scored every --eval-every steps and at the end")
    .option("--loss <spec>", "a loss, or weighted terms such as sigmoid:1,sft:0.1 (default kto)")
    .option("--beta <n>", "beta of every loss that takes one (default 0.1)", numberArg("--beta"))
    .addOption(new Option("--finetuning <kind>", "train LoRA adapters or every weight (default lora)").choices(["lora", "full"]))
    .option("--lora-rank <n>", "LoRA rank r (default 8)", numberArg("--lora-rank"))
    .option("--lora-alpha <n>", "LoRA alpha; the update is scaled by alpha/r (default 16)", numberArg("--lora-alpha"))
    .option("--lora-dropout <p>", "dropout on the adapters' input while training (default 0)", numberArg("--lora-dropout"))
    .option("--lora-targets <list>", `comma-separated modules to wrap (default all: ${LORA_TARGETS.join(",")})`)
    .option("--lr <n>", "peak learning rate (default 5e-6)", numberArg("--lr"))
    .addOption(new Option("--schedule <name>", "learning-rate schedule after warm-up (default cosine)").choices(SCHEDULES))
    .option("--warmup-steps <n>", "linear warm-up steps (default 0)", numberArg("--warmup-steps"))
    .option("--warmup-ratio <r>", "warm-up as a share of all steps, when --warmup-steps is 0 (default 0)", numberArg("--warmup-ratio"))
    .option("--min-lr-ratio <r>", "the schedule ends at lr x this (default 0)", numberArg("--min-lr-ratio"))
    .option("--weight-decay <n>", "AdamW decoupled weight decay (default 0)", numberArg("--weight-decay"))
    .option("--max-grad-norm <n>", "clip the global gradient norm; 0 turns clipping off (default 1)", numberArg("--max-grad-norm"))
    .option("--epochs <n>", "passes over the data (default 3)", numberArg("--epochs"))
    .option("--max-steps <n>", "stop after this many optimizer steps (overrides --epochs)", numberArg("--max-steps"))
    .option("--batch-size <n>", "rows per micro-batch (default 2)", numberArg("--batch-size"))
    .option("--grad-accum <n>", "micro-batches per optimizer step (default 8)", numberArg("--grad-accum"))
    .option("--max-length <n>", "cut-off in tokens; completions are cut keeping their start, prompts that do not fit are dropped (default 2048)", numberArg("--max-length"))
    .option("--no-bucketing", "do not group rows of similar length into batches")
    .option("--seed <n>", "seed of the data order, LoRA init and dropout (default 42)", numberArg("--seed"))
    .addOption(new Option("--reference <mode>", "reference log-probs (default adapter-disabled for LoRA, frozen-copy for full)").choices(REFERENCE_MODES))
    .option("--reference-cache <dir>", "folder for --reference cached (default <out>/reference-cache)")
    .option("--log-every <n>", "optimizer steps between metrics lines (default 10)", numberArg("--log-every"))
    .option("--save-every <n>", "optimizer steps between checkpoints (default 100)", numberArg("--save-every"))
    .option("--keep-checkpoints <n>", "newest checkpoints kept (default 2)", numberArg("--keep-checkpoints"))
    .option("--eval-every <n>", "optimizer steps between evaluations on --eval-data (default: at the end only)", numberArg("--eval-every"))
    .option("--skip-invalid", "count bad rows into <out>/rejects.jsonl instead of stopping at the first")
    .option("--no-adapter", "do not write adapter/ (LoRA)")
    .option("--no-merged", "do not write the merged model/ folder")
    .addOption(new Option("--gguf <type>", "also write model.gguf with weight matrices of this type").choices(GGUF_TYPES))
    .option("--resume", "continue from the newest checkpoint in --out")
    .action(async (flags: TrainFlags, command: Command) => {
      // Only flags given on the command line override the YAML file (commander fills --no-* defaults).
      const given = (name: keyof TrainFlags): boolean => command.getOptionValueSource(name) === "cli";
      const pick = <K extends keyof TrainFlags>(name: K): TrainFlags[K] | undefined => (given(name) ? flags[name] : undefined);
      const lora = {
        rank: pick("loraRank"),
        alpha: pick("loraAlpha"),
        dropout: pick("loraDropout"),
        targets: pick("loraTargets")?.split(",").map((t) => t.trim()),
      };
      const overrides: Record<string, unknown> = {
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
      const config = await loadTrainConfig(flags.config, overrides);
      const summary = await train(config);
      const resumed = summary.resumedFrom === undefined ? "" : ` (resumed at step ${summary.resumedFrom})`;
      const loss = summary.lastMetrics.loss;
      console.log(`trained ${summary.steps} steps on ${summary.rows} rows${resumed}; final loss ${loss === undefined ? "n/a" : loss.toFixed(4)}; wrote ${config.out}/{${summary.outputs.join(",")}}`);
    });
}
