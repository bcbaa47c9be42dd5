/**
 * The supervised term: negative log-likelihood of the chosen completions, usable alone or as a
 * weighted regulariser next to a preference loss (TRL DPOTrainer loss_type='sft'; the NLL term of
 * Pang et al. 2024, arXiv 2404.19733, whose loss is DPO + NLL).
 */
import { ops } from "../../engine/index.js";
import { atLeastOne, defineLoss, values, type LossSpec } from "./common.js";

export const sftLosses = {
  // Token-mean NLL over every chosen token of the batch, −Σℓc / Σ|c| (cross-entropy as TRL computes it).
  // perExample is each completion's own −ℓc/|c|; the batch loss weights them by length, so it is
  // not their plain mean.
  sft: defineLoss({
    cite: "NLL on chosen (TRL loss_type='sft'; arXiv 2404.19733)",
    inputs: ["policy_chosen_logps", "chosen_lengths"],
    params: {},
    compute: (x) => {
      const lengths = atLeastOne(x.chosen_lengths);
      const perExample = ops.neg(ops.div(x.policy_chosen_logps, lengths));
      const loss = ops.neg(ops.div(ops.sum(x.policy_chosen_logps), ops.sum(lengths)));
      const logps = values(x.policy_chosen_logps);
      const metrics = { nll_loss: loss.item(), "logps/chosen": logps.reduce((s, v) => s + v, 0) / logps.length };
      return { perExample, loss, metrics };
    },
  }),
} satisfies Record<string, LossSpec>;
