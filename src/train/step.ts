/**
 * One optimizer step and one evaluation pass: the micro-batches' rows scored by the policy (and
 * the reference), the loss terms combined, gradients accumulated and clipped.
 */
import { clipGradNorm, noGrad, ops, recycling, Tensor, type AdamW, type LlamaModel } from "../engine/index.js";
import { SeapoError } from "../errors.js";
import type { BuiltinErrorType } from "../negatives/index.js";
import type { TrainConfig } from "./config.js";
import type { TokenizedRows } from "./data.js";
import {
  combineLosses,
  klPartners,
  ldWeights,
  listwiseBatchInputs,
  type LossInputs,
  type LossRequirements,
  type LossTerm,
} from "./losses/index.js";
import { logitMetrics, MetricAccumulator } from "./metrics.js";
import { completionLogps, scoreRows, type ReferenceScorer, type ScoredRow } from "./reference.js";
import { EVAL_PREFIX } from "./files.js";
import { epochBatches } from "./schedule.js";

/** The error type whose negatives F-DPO counts as hallucinated. */
const HALLUCINATION: BuiltinErrorType = "hallucination";

/** What a batch is scored with: the loss terms, what they need, and the reference (when they read one). */
export interface LossSetup {
  terms: readonly LossTerm[];
  needs: LossRequirements;
  reference: ReferenceScorer | undefined;
  /** LD-DPO's α, when set. */
  ldAlpha?: number | undefined;
}

/** The model being trained, its trainable parameters and their optimizer. */
export interface Learner {
  policy: LlamaModel;
  params: Map<string, Tensor>;
  optimizer: AdamW;
}

/** A non-finite loss or gradient norm: the step (1-based), the micro-batch (0-based) when it was the loss. */
export type OnDiverged = (what: string, step: number, microBatch: number | undefined) => SeapoError;

/**
 * Forward and backward over the step's micro-batches (the loss of each scaled by 1/count), then
 * the clipped AdamW update. Train metrics go into `metrics`; returns the tokens seen.
 */
export function trainStep(
  { policy, params, optimizer }: Learner,
  step: { index: number; batches: readonly number[][]; data: TokenizedRows },
  loss: LossSetup,
  settings: Pick<TrainConfig, "seed" | "maxGradNorm">,
  metrics: MetricAccumulator,
  diverged: OnDiverged,
): number {
  let tokens = 0;
  policy.train(true);
  for (const [k, batch] of step.batches.entries()) {
    policy.reseedAdapterDropout(dropoutSeed(settings.seed, step.index, k));
    // The micro-batch's activations and intermediate gradients go back to the engine's pool as soon
    // as backward is done with them; only numbers and the parameters' gradients leave the scope.
    const result = recycling(
      () => {
        const { loss: batchLossValue, ...rest } = batchLoss(policy, step.data, batch, loss);
        const value = batchLossValue.item();
        if (!Number.isFinite(value)) throw diverged(`the loss is ${value}`, step.index + 1, k);
        ops.mul(batchLossValue, 1 / step.batches.length).backward();
        return { value, ...rest };
      },
      { releaseTape: true },
    );
    metrics.add({ loss: result.value, ...result.metrics });
    tokens += result.tokens;
  }
  const gradNorm = clipGradNorm(params.values(), settings.maxGradNorm > 0 ? settings.maxGradNorm : Infinity);
  if (!Number.isFinite(gradNorm)) throw diverged(`the gradient norm is ${gradNorm}`, step.index + 1, undefined);
  metrics.add({ grad_norm: gradNorm });
  optimizer.step();
  optimizer.zeroGrad();
  return tokens;
}

/** The mean metrics of one no-grad pass over `data` (planned with the run's seed), keyed eval_<name> as TRL's. */
export function evaluate(
  policy: LlamaModel,
  data: TokenizedRows,
  loss: LossSetup,
  settings: Pick<TrainConfig, "batchSize" | "seed" | "lengthBucketing">,
): Record<string, number> {
  policy.train(false);
  const metrics = new MetricAccumulator();
  for (const batch of epochBatches(data, settings, settings.seed, loss.needs.kl)) {
    const result = recycling(() =>
      noGrad(() => {
        const batchResult = batchLoss(policy, data, batch, loss);
        return { value: batchResult.loss.item(), metrics: batchResult.metrics };
      }),
    );
    metrics.add({ loss: result.value, ...result.metrics }, "eval");
  }
  return Object.fromEntries(Object.entries(metrics.flush("eval")).map(([key, v]) => [`${EVAL_PREFIX}${key}`, v]));
}

interface BatchResult {
  loss: Tensor;
  metrics: Record<string, number>;
  tokens: number;
}

/** How a batch's rows are built: with KTO's KL rows, and with LD-DPO's token weights. */
export interface RowShape {
  kl: boolean;
  ldAlpha?: number | undefined;
}

/**
 * The rows a micro-batch scores, keyed for the reference cache: unpaired items (then, for KTO,
 * the mismatched KL rows); or every chosen then every rejected completion of the pairs; or, for
 * listwise rows, every chosen then row 0's negatives, row 1's, … (listwiseBatchInputs' layout), so
 * each of a row's K + 1 completions has one key.
 */
export function batchRows(data: TokenizedRows, batch: readonly number[], shape: RowShape): ScoredRow[] {
  if (data.kind === "listwise") {
    const rows = batch.map((i) => ({ i, row: data.rows[i]! }));
    return [
      ...rows.map(({ i, row }) => ({ prompt: row.prompt, completion: row.chosen, key: `c${i}` })),
      ...rows.flatMap(({ i, row }) =>
        row.rejected.map((completion, k) => ({ prompt: row.prompt, completion, key: `r${i}.${k}` })),
      ),
    ];
  }
  if (data.kind === "paired") {
    const pairs = batch.map((i) => ({ i, row: data.rows[i]! }));
    const weights = (own: readonly number[], other: readonly number[]) =>
      shape.ldAlpha === undefined
        ? {}
        : { weights: ldWeights(own.length, Math.min(own.length, other.length), shape.ldAlpha) };
    return [
      ...pairs.map(({ i, row }) => ({
        prompt: row.prompt,
        completion: row.chosen,
        key: `c${i}`,
        ...weights(row.chosen, row.rejected),
      })),
      ...pairs.map(({ i, row }) => ({
        prompt: row.prompt,
        completion: row.rejected,
        key: `r${i}`,
        ...weights(row.rejected, row.chosen),
      })),
    ];
  }
  const rows = data.rows;
  const items = batch.map((i) => ({ prompt: rows[i]!.prompt, completion: rows[i]!.completion, key: `${i}` }));
  if (!shape.kl) return items;
  const klRows = klPartners(items).map((partner, j) => {
    const owner = partner === undefined ? outsidePartner(data, batch[j]!) : batch[partner]!;
    return { prompt: items[j]!.prompt, completion: rows[owner]!.completion, key: `${batch[j]}>${owner}` };
  });
  return [...items, ...klRows];
}

/** How many of batchRows' rows the policy scores with gradients: all but KTO's KL rows. */
function mainRowCount(data: TokenizedRows, batch: readonly number[]): number {
  if (data.kind === "listwise") return batch.reduce((n, i) => n + 1 + data.rows[i]!.rejected.length, 0);
  return data.kind === "paired" ? 2 * batch.length : batch.length;
}

/**
 * Tokens a micro-batch puts through the policy, counted as TRL counts `num_tokens` (v1.9.0,
 * DPOTrainer/KTOTrainer `_compute_loss`: the batch's attention_mask summed, padding excluded): the
 * prompt and completion of every scored sequence (a pair's two, a listwise row's K + 1), KTO's KL
 * rows not included.
 */
export function batchTokens(data: TokenizedRows, batch: readonly number[]): number {
  return batchRows(data, batch, { kl: false })
    .slice(0, mainRowCount(data, batch))
    .reduce((n, r) => n + r.prompt.length + r.completion.length, 0);
}

/**
 * A KL partner for a row whose batch holds its prompt only: the next row of the file, cyclically,
 * with another prompt (a fixed choice, so a resumed run and the reference cache see the same row).
 */
function outsidePartner(data: TokenizedRows & { kind: "unpaired" }, row: number): number {
  const n = data.rows.length;
  const prompt = data.rows[row]!.prompt.join(",");
  for (let step = 1; step < n; step++) {
    const j = (row + step) % n;
    if (data.rows[j]!.prompt.join(",") !== prompt) return j;
  }
  throw new SeapoError("KTO's KL term needs at least two different prompts in the data; every row has the same one");
}

function batchLoss(
  policy: LlamaModel,
  data: TokenizedRows,
  batch: readonly number[],
  { terms, needs, reference, ldAlpha }: LossSetup,
): BatchResult {
  const rows = batchRows(data, batch, { kl: needs.kl, ldAlpha });
  const main = rows.slice(0, mainRowCount(data, batch));
  const tokens = main.reduce((n, r) => n + r.prompt.length + r.completion.length, 0);
  const scored = scoreRows(policy, main, true);
  const referenceLogps = reference?.(main);
  const source = { policy, data, batch, rows, reference, needs };
  const inputs =
    data.kind === "unpaired"
      ? unpairedInputs({ ...source, data }, scored.logps, referenceLogps)
      : data.kind === "paired"
        ? pairedInputs({ ...source, data }, scored.logps, referenceLogps)
        : listwiseInputs({ ...source, data }, scored.logps, referenceLogps);
  const combined = combineLosses(terms, inputs);
  const all = batch.map((_, j) => j);
  const sides =
    data.kind === "unpaired"
      ? {
          chosen: all.filter((j) => data.rows[batch[j]!]!.label),
          rejected: all.filter((j) => !data.rows[batch[j]!]!.label),
        }
      : { chosen: all, rejected: main.map((_, j) => j).slice(batch.length) };
  const metrics = { ...combined.metrics, ...logitMetrics(scored.sums!, sides, data.kind !== "unpaired") };
  return { loss: combined.loss, metrics, tokens };
}

/** What the input builders read: the batch, its scored rows (KL rows after the main ones) and the reference. */
interface InputSource<D extends TokenizedRows> {
  policy: LlamaModel;
  data: D;
  batch: readonly number[];
  rows: readonly ScoredRow[];
  reference: ReferenceScorer | undefined;
  needs: LossRequirements;
}

const vector = (values: ArrayLike<number>): Tensor => new Tensor(Float32Array.from(values), [values.length]);

/** KTO-family inputs: each item's log-prob and label, and with a KL term the KL rows' (scored without gradients). */
function unpairedInputs(
  { policy, data, batch, rows, reference, needs }: InputSource<TokenizedRows & { kind: "unpaired" }>,
  policyLogps: Tensor,
  referenceLogps: Float32Array | undefined,
): LossInputs {
  const B = batch.length;
  let inputs: LossInputs = {
    policy_logps: policyLogps,
    labels: vector(batch.map((i) => (data.rows[i]!.label ? 1 : 0))),
  };
  if (referenceLogps !== undefined) inputs = { ...inputs, reference_logps: vector(referenceLogps) };
  if (!needs.kl) return inputs;
  const klRows = rows.slice(B);
  const klPolicy = recycling(() => noGrad(() => completionLogps(policy, klRows).data.slice()));
  return {
    ...inputs,
    kl_policy_logps: new Tensor(klPolicy, [B]),
    kl_reference_logps: vector(reference!(klRows)),
  };
}

/** The chosen side every paired and listwise loss reads: log-probs, lengths and the NLL over all chosen tokens. */
function chosenInputs(policyLogps: Tensor, lengths: readonly number[]): LossInputs {
  const chosen = ops.slice(policyLogps, 0, 0, lengths.length);
  return {
    policy_chosen_logps: chosen,
    chosen_lengths: vector(lengths),
    nll_chosen: ops.mul(ops.sum(chosen), -1 / lengths.reduce((a, b) => a + b, 0)),
  };
}

/** DPO-family inputs: chosen then rejected, their lengths, F-DPO's flags when read, the reference's. */
function pairedInputs(
  { data, batch, needs }: InputSource<TokenizedRows & { kind: "paired" }>,
  policyLogps: Tensor,
  referenceLogps: Float32Array | undefined,
): LossInputs {
  const B = batch.length;
  let inputs: LossInputs = {
    ...chosenInputs(
      policyLogps,
      batch.map((i) => data.rows[i]!.chosen.length),
    ),
    policy_rejected_logps: ops.slice(policyLogps, 0, B, 2 * B),
    rejected_lengths: vector(batch.map((i) => data.rows[i]!.rejected.length)),
  };
  if (needs.hallucination) {
    // SeaPO's chosen answer is the verified original; the rejected one is hallucinated when that is its injected error.
    const flags = batch.map((i) => (data.rows[i]!.errorType === HALLUCINATION ? 1 : 0));
    inputs = { ...inputs, chosen_hallucinated: vector(batch.map(() => 0)), rejected_hallucinated: vector(flags) };
  }
  if (referenceLogps === undefined) return inputs;
  return {
    ...inputs,
    reference_chosen_logps: vector(referenceLogps.subarray(0, B)),
    reference_rejected_logps: vector(referenceLogps.subarray(B)),
  };
}

/** Listwise inputs: the chosen [B] and the rejected [B, K] (padded to the batch's largest K, masked). */
function listwiseInputs(
  { data, batch }: InputSource<TokenizedRows & { kind: "listwise" }>,
  policyLogps: Tensor,
  referenceLogps: Float32Array | undefined,
): LossInputs {
  const counts = batch.map((i) => data.rows[i]!.rejected.length);
  return {
    ...listwiseBatchInputs(policyLogps, referenceLogps, counts),
    ...chosenInputs(
      policyLogps,
      batch.map((i) => data.rows[i]!.chosen.length),
    ),
  };
}

/** Seed of the dropout masks of micro-batch k of a step: a function of the position only. */
function dropoutSeed(seed: number, step: number, k: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 1;
}
