/**
 * The preference-loss table: one entry per loss name, gathered from the family files. The names
 * exist only here (as the table's keys); errors, CLI help and tests iterate `LOSS_NAMES`.
 *
 * Several losses can be combined with weights (TRL's `loss_type` list with `loss_weights`).
 */
import { ops, type Tensor } from "../../engine/index.js";
import { SeapoError } from "../../errors.js";
import type { InputName, LossInputs, LossOutput, LossSpec } from "./common.js";
import { listwiseLosses } from "./listwise.js";
import { pairwiseLosses } from "./pairwise.js";
import { referenceFreeLosses } from "./reference-free.js";
import { sftLosses } from "./sft.js";
import { unpairedLosses } from "./unpaired.js";

export const LOSSES = {
  ...pairwiseLosses,
  ...referenceFreeLosses,
  ...unpairedLosses,
  ...sftLosses,
  ...listwiseLosses,
} satisfies Record<string, LossSpec>;

export type LossName = keyof typeof LOSSES;
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

/** TRL's names where ours differ (TRL calls DPO `sigmoid`; cDPO is TRL ≤ 0.28 `sigmoid` with label_smoothing). */
export const LOSS_ALIASES = { sigmoid: "dpo_sigmoid" } as const satisfies Record<string, LossName>;

/** A loss name or alias from configuration, checked against the table. */
export function resolveLossName(name: string): LossName {
  if (Object.hasOwn(LOSSES, name)) return name as LossName;
  if (Object.hasOwn(LOSS_ALIASES, name)) return LOSS_ALIASES[name as keyof typeof LOSS_ALIASES];
  throw new SeapoError(
    `unknown loss "${name}"; known losses: ${LOSS_NAMES.join(", ")} (alias: ${Object.keys(LOSS_ALIASES).join(", ")})`,
  );
}

/** Defaults filled in; an unknown name or a missing required parameter is an error naming the loss. */
function resolveParams(
  name: LossName,
  spec: LossSpec,
  given: Readonly<Record<string, number>>,
): Record<string, number> {
  const allowed = Object.keys(spec.params);
  const resolved: Record<string, number> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!allowed.includes(key))
      throw new SeapoError(
        `loss ${name}: unknown parameter "${key}"; it takes ${allowed.join(", ") || "no parameters"}`,
      );
    if (!Number.isFinite(value))
      throw new SeapoError(`loss ${name}: parameter ${key} must be a finite number, got ${value}`);
    resolved[key] = value;
  }
  for (const key of allowed) {
    if (key in resolved) continue;
    const fallback = spec.params[key];
    if (fallback === null || fallback === undefined)
      throw new SeapoError(`loss ${name}: parameter ${key} has no default; set it`);
    resolved[key] = fallback;
  }
  if ("beta" in resolved && !(resolved.beta! > 0))
    throw new SeapoError(`loss ${name}: beta must be positive, got ${resolved.beta}`);
  return resolved;
}

/** Required inputs present; every vector input has the batch's length; nll_chosen is one value. */
function checkInputs(name: LossName, spec: LossSpec, inputs: LossInputs): void {
  const missing = spec.inputs.filter((input) => inputs[input] === undefined);
  if (missing.length > 0) throw new SeapoError(`loss ${name}: missing input ${missing.join(", ")} (${spec.cite})`);
  let batch: { input: InputName; size: number } | undefined;
  for (const input of [...spec.inputs, ...(spec.optional ?? [])]) {
    const t = inputs[input];
    if (t === undefined) continue;
    if (input === "nll_chosen") {
      if (t.size !== 1)
        throw new SeapoError(`loss ${name}: nll_chosen must hold one value, got shape [${t.shape.join(", ")}]`);
      continue;
    }
    if (LIST_INPUTS.has(input)) continue; // [B, K]: the listwise entry checks them against the chosen
    if (t.ndim !== 1 || t.size === 0) {
      throw new SeapoError(`loss ${name}: ${input} must be a non-empty [B] vector, got shape [${t.shape.join(", ")}]`);
    }
    batch ??= { input, size: t.size };
    if (t.size !== batch.size)
      throw new SeapoError(`loss ${name}: ${input} has ${t.size} values but ${batch.input} has ${batch.size}`);
  }
}

/** The [B, K] inputs of the listwise losses (one chosen against K rejected). */
const LIST_INPUTS = new Set<InputName>([
  "policy_rejected_list_logps",
  "reference_rejected_list_logps",
  "rejected_list_mask",
]);

/** One loss by name on a batch. */
export function runLoss(name: LossName, inputs: LossInputs, params: Readonly<Record<string, number>> = {}): LossOutput {
  const spec: LossSpec = LOSSES[name];
  if (spec === undefined)
    throw new SeapoError(`unknown loss "${String(name)}"; known losses: ${LOSS_NAMES.join(", ")}`);
  checkInputs(name, spec, inputs);
  return spec.compute(inputs as Parameters<LossSpec["compute"]>[0], resolveParams(name, spec, params));
}

export interface LossTerm {
  name: LossName;
  /** Default 1 (TRL's equal weighting). */
  weight?: number;
  params?: Readonly<Record<string, number>>;
}

/** What a loss spec needs from the data and the trainer. */
export interface LossRequirements {
  /**
   * Unpaired {prompt, completion, label} items (the KTO family), chosen/rejected pairs, or
   * listwise rows (one chosen, K rejected: dpo_multi.jsonl; see listwise.ts for the batch layout).
   */
  kind: "paired" | "unpaired" | "listwise";
  /** Some term reads reference log-probs. */
  reference: boolean;
  /** Some term reads the KL rows (each item's prompt with another item's completion). */
  kl: boolean;
  /** Some term reads per-pair hallucination flags (F-DPO). */
  hallucination: boolean;
}

/**
 * Read off the inputs the terms declare. Unpaired and paired terms cannot share a batch (one is
 * built of items, the other of pairs), so mixing them is an error.
 */
export function lossRequirements(terms: readonly LossTerm[]): LossRequirements {
  const reads = (term: LossTerm): readonly string[] => LOSSES[term.name].inputs;
  const inputs = new Set(terms.flatMap(reads));
  const unpaired = inputs.has("labels");
  if (unpaired && terms.some((t) => !reads(t).includes("labels"))) {
    throw new SeapoError(
      `--loss ${terms.map((t) => t.name).join(",")}: unpaired losses (kto, apo_zero_unpaired) cannot be combined with paired ones`,
    );
  }
  const listwise = inputs.has("policy_rejected_list_logps");
  if (listwise && (unpaired || inputs.has("policy_rejected_logps"))) {
    throw new SeapoError(
      `--loss ${terms.map((t) => t.name).join(",")}: listwise losses (multi_dpo, listwise_pl) combine only with sft`,
    );
  }
  return {
    kind: unpaired ? "unpaired" : listwise ? "listwise" : "paired",
    reference: inputs.has("reference_logps") || inputs.has("reference_chosen_logps"),
    kl: inputs.has("kl_policy_logps"),
    hallucination: inputs.has("rejected_hallucinated"),
  };
}

export interface CombinedLoss {
  /** Σ weight·loss, a scalar to call backward() on. */
  loss: Tensor;
  /**
   * One term: its metrics as they are. Several: one un-prefixed set (each key from the first term
   * reporting it), `<name>/loss` per term, and `<name>/<metric>` where a later term's value differs.
   */
  metrics: Record<string, number>;
  terms: { name: LossName; weight: number; output: LossOutput }[];
}

/** Weighted sum of several losses on the same inputs (TRL's loss_type list with loss_weights). */
export function combineLosses(terms: readonly LossTerm[], inputs: LossInputs): CombinedLoss {
  if (terms.length === 0) throw new SeapoError("combineLosses: give at least one loss");
  const names = terms.map((t) => t.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined)
    throw new SeapoError(`combineLosses: loss ${repeated} appears twice; give it once with its total weight`);

  const outputs = terms.map((term) => {
    const weight = term.weight ?? 1;
    if (!Number.isFinite(weight))
      throw new SeapoError(`combineLosses: weight of ${term.name} must be a finite number, got ${weight}`);
    return { name: term.name, weight, output: runLoss(term.name, inputs, term.params ?? {}) };
  });
  const loss = outputs
    .map(({ weight, output }) => ops.mul(output.loss, weight))
    .reduce((total, next) => ops.add(total, next));
  if (outputs.length === 1) return { loss, metrics: { ...outputs[0]!.output.metrics }, terms: outputs };

  // One un-prefixed set, as TRL logs for a loss_type list: each key from the first term that reports it.
  const metrics: Record<string, number> = {};
  for (const { name, output } of outputs) {
    metrics[`${name}/loss`] = output.loss.item();
    for (const [key, value] of Object.entries(output.metrics)) {
      if (!(key in metrics)) metrics[key] = value;
      else if (metrics[key] !== value) metrics[`${name}/${key}`] = value; // a later term that sees it otherwise
    }
  }
  return { loss, metrics, terms: outputs };
}

export {
  listwiseBatchInputs,
  listwiseLayout,
  listwiseTerms,
  rejectedMatrix,
  type ListwiseLayout,
  type ListwiseTerms,
  type ListwiseValues,
} from "./listwise.js";
export { ldLogps, ldWeights } from "./pairwise.js";
export { klPartners, ktoKlRows, type PromptCompletion } from "./unpaired.js";
export type { InputName, LossInputs, LossOutput, LossSpec } from "./common.js";
