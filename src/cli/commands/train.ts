import type { Command } from "commander";
import {
  LOSS_NAMES,
  loadTrainConfig,
  train,
  trainConfigSchema,
  type TrainConfig,
  type TrainSummary,
} from "../../train/index.js";
import { createProgress, type Progress } from "../progress.js";
import { addSchemaOptions, typedFlags } from "../schema-options.js";

/** Adds the training options (from the schema) to a command, leaving out the long flags in `except`. */
export function addTrainOptions(command: Command, except: readonly string[] = []): Command {
  if (!except.includes("--config")) command.option("--config <file>", "YAML file of options (flags override it)");
  return addSchemaOptions(command, trainConfigSchema, except);
}

/** The training options typed on the command line, as overrides for loadTrainConfig. */
export function trainOverrides(command: Command): Record<string, unknown> {
  return typedFlags(trainConfigSchema, command);
}

/** train() with a progress bar on stderr: one tick per optimizer step, the loss and lr of each log step. */
async function trainWithProgress(config: TrainConfig): Promise<TrainSummary> {
  let progress: Progress | undefined;
  let last = 0;
  const stop = () => {
    progress?.stop();
    progress = undefined;
  };
  try {
    return await train(config, {
      onStart: ({ startStep, totalSteps }) => {
        progress = createProgress("train", totalSteps - startStep);
        last = totalSteps;
      },
      onStep: (step, metrics) => {
        progress?.increment();
        if (metrics !== undefined)
          progress?.set({
            loss: (metrics.loss ?? NaN).toFixed(4),
            lr: (metrics.learning_rate ?? NaN).toExponential(2),
          });
        // The bar ends with the loop, before the outputs are written.
        if (step === last) stop();
      },
    });
  } finally {
    stop();
  }
}

export function registerTrainCommand(program: Command): void {
  const command = program
    .command("train")
    .summary("preference-train a model folder on SeaPO rows (KTO by default)")
    .description(
      "Trains a Hugging Face model folder (llama or qwen2) on kto.jsonl {prompt, completion, label}, dpo.jsonl " +
        "{prompt, chosen, rejected} or dpo_multi.jsonl {prompt, chosen, rejected: [r1, r2, …]} rows from `seapo inject`, " +
        "tokenized as TRL tokenizes them (message lists through the model's chat template). " +
        "dpo_multi.jsonl rows (several negatives per prompt, their number free per row) train the listwise losses " +
        "multi_dpo and listwise_pl only; the pairwise and unpaired losses take dpo.jsonl or kto.jsonl. " +
        "The defaults below follow the SeaPO paper's recipe.\n\n" +
        "Options may also come from a YAML file (--config) with the same names in camelCase (lora: {rank, alpha, dropout, targets}, " +
        "lossParams: {kto: {desirable_weight: 1}}); flags override the file.\n\n" +
        "Writes to --out: metrics.jsonl (one line per log step, TRL's names: loss, rewards/*, logps/*, logits/*, entropy, kl, num_tokens, grad_norm, learning_rate, tokens/s, elapsed; listwise losses add rewards/rejected_max and rewards/pair_accuracies; eval_* lines), " +
        "checkpoints/step-N (atomic; adapter or weights, optimizer, step), adapter/ (PEFT), model/ (merged HF folder), " +
        "model.gguf (with --gguf), run.json (resolved config, data hash, versions), rejects.jsonl (with --skip-invalid).\n\n" +
        `Losses: ${LOSS_NAMES.join(", ")} (alias sigmoid = dpo_sigmoid).`,
    );
  addTrainOptions(command).action(async (flags: { config?: string }, cmd: Command) => {
    const config = await loadTrainConfig(flags.config, trainOverrides(cmd));
    const summary = await trainWithProgress(config);
    const resumed = summary.resumedFrom === undefined ? "" : ` (resumed at step ${summary.resumedFrom})`;
    const loss = summary.lastMetrics.loss;
    console.log(
      `trained ${summary.steps} steps on ${summary.rows} rows${resumed}; final loss ${loss === undefined ? "n/a" : loss.toFixed(4)}; wrote ${config.out}/{${summary.outputs.join(",")}}`,
    );
  });
}
