/**
 * Our loss spec in each target's terms. Where the key names come from (each project's own sources,
 * read for this; our summary):
 *  - LLaMA-Factory: src/llamafactory/hparams/finetuning_args.py (stage, pref_beta, pref_loss ∈ {sigmoid,
 *    hinge, ipo, kto_pair, orpo, simpo}, pref_ftx, dpo_label_smoothing, simpo_gamma, kto_chosen_weight,
 *    kto_rejected_weight).
 *  - TRL: trl/trainer/dpo_config.py (loss_type, possibly a list, with loss_weights; beta,
 *    label_smoothing, discopop_tau) and KTOConfig (loss_type kto | apo_zero_unpaired,
 *    desirable_weight, undesirable_weight), at the tags of targets.ts. A loss is offered only where
 *    that version has it: sigmoid_norm from v1.4; cdpo only up to v0.28, as DPOTrainer's sigmoid
 *    stopped reading label_smoothing in v0.29 (trl/trainer/dpo_trainer.py).
 */
import { SeapoError } from "../../errors.js";
import { parseLossSpec, type TrainConfig } from "../config.js";
import { LOSSES, lossRequirements, type LossName, type LossTerm } from "../losses/index.js";
import type { Keys } from "./common.js";
import { TRL_TARGETS, type TrlVersion } from "./targets.js";

/** How a target spells one of our losses: its name, and which of our parameters become which of its keys. */
interface LossMapping {
  name: string;
  params?: Readonly<Record<string, string>>;
}

/** LLaMA-Factory: stage kto, or stage dpo with this pref_loss. Its ORPO is our orpo_llamafactory. */
const LLAMAFACTORY_LOSSES: Partial<Record<LossName, LossMapping>> = {
  kto: { name: "kto", params: { desirable_weight: "kto_chosen_weight", undesirable_weight: "kto_rejected_weight" } },
  dpo_sigmoid: { name: "sigmoid" },
  cdpo: { name: "sigmoid", params: { label_smoothing: "dpo_label_smoothing" } },
  hinge: { name: "hinge" },
  ipo: { name: "ipo" },
  orpo_llamafactory: { name: "orpo" },
  simpo: { name: "simpo", params: { simpo_gamma: "simpo_gamma" } },
};

/** TRL: `trl kto` takes the unpaired losses, `trl dpo` the DPO family (cDPO is its sigmoid with label_smoothing). */
const TRL_KTO_LOSSES: Partial<Record<LossName, LossMapping>> = {
  kto: { name: "kto", params: { desirable_weight: "desirable_weight", undesirable_weight: "undesirable_weight" } },
  apo_zero_unpaired: {
    name: "apo_zero_unpaired",
    params: { desirable_weight: "desirable_weight", undesirable_weight: "undesirable_weight" },
  },
};
const TRL_DPO_LOSSES: Partial<Record<LossName, LossMapping>> = {
  dpo_sigmoid: { name: "sigmoid" },
  cdpo: { name: "sigmoid", params: { label_smoothing: "label_smoothing" } },
  robust: { name: "robust", params: { label_smoothing: "label_smoothing" } },
  hinge: { name: "hinge" },
  ipo: { name: "ipo" },
  exo_pair: { name: "exo_pair", params: { label_smoothing: "label_smoothing" } },
  nca_pair: { name: "nca_pair" },
  bco_pair: { name: "bco_pair" },
  sppo_hard: { name: "sppo_hard" },
  apo_zero: { name: "apo_zero" },
  apo_down: { name: "apo_down" },
  discopop: { name: "discopop", params: { discopop_tau: "discopop_tau" } },
  sigmoid_norm: { name: "sigmoid_norm" },
  sft: { name: "sft" },
};

/** The DPO losses a TRL version can run exactly: those whose loss_type it has, cdpo only while sigmoid reads label_smoothing. */
function trlDpoLosses(version: TrlVersion): Partial<Record<LossName, LossMapping>> {
  const target = TRL_TARGETS[version];
  const table: Partial<Record<LossName, LossMapping>> = {};
  for (const [name, mapping] of Object.entries(TRL_DPO_LOSSES) as Array<[LossName, LossMapping]>) {
    if (!target.dpoLossTypes.includes(mapping.name)) continue;
    if (name === "cdpo" && !target.sigmoidReadsLabelSmoothing) continue;
    table[name] = mapping;
  }
  return table;
}

const LOSS_HINTS: Partial<Record<LossName, string>> = {
  orpo: "LLaMA-Factory's ORPO is our orpo_llamafactory (its NLL term is averaged per pair); TRL has ORPO only in its ORPOTrainer, which has no `trl` command",
  simpo: "TRL runs SimPO in its CPOTrainer, which has no `trl` command; export it to llamafactory",
  cpo: "TRL runs CPO in its CPOTrainer, which has no `trl` command",
  cdpo: "from v0.29 TRL's sigmoid loss ignores label_smoothing, so cdpo would train plain DPO; target --trl-version 0.28 or llamafactory (dpo_label_smoothing)",
  sigmoid_norm: "TRL has sigmoid_norm from v1.4 (--trl-version 1.4 or later)",
};

function supported(table: Partial<Record<LossName, LossMapping>>): string {
  return Object.keys(table).join(", ");
}

/** One term → the target's loss name and keys. A parameter the target cannot express must keep our default. */
function mapTerm(
  term: LossTerm,
  table: Partial<Record<LossName, LossMapping>>,
  target: string,
  also = "",
): { name: string; keys: Keys } {
  const mapping = table[term.name];
  if (mapping === undefined) {
    const hint = LOSS_HINTS[term.name] === undefined ? "" : `; ${LOSS_HINTS[term.name]}`;
    throw new SeapoError(
      `--loss ${term.name}: ${target} has no such loss; it supports ${supported(table)}${also}${hint}`,
    );
  }
  const defaults = LOSSES[term.name].params as Readonly<Record<string, number | null>>;
  const keys: Keys = {};
  for (const [param, value] of Object.entries({ ...defaults, ...(term.params ?? {}) })) {
    if (param === "beta") continue;
    const key = mapping.params?.[param];
    if (key !== undefined) keys[key] = value;
    else if (value !== defaults[param])
      throw new SeapoError(
        `--loss ${term.name}: ${target} has no setting for ${param} (${value}); leave it at the default ${defaults[param]}`,
      );
  }
  return { name: mapping.name, keys };
}

/** The one β a target takes: every term that has a β must agree. */
function sharedBeta(terms: readonly LossTerm[], config: TrainConfig, target: string): number {
  const betas = [...new Set(terms.map((t) => t.params?.beta).filter((b): b is number => b !== undefined))];
  if (betas.length > 1)
    throw new SeapoError(`--loss ${config.loss}: ${target} takes one beta, but the terms use ${betas.join(" and ")}`);
  return betas[0] ?? config.beta;
}

/** LLaMA-Factory's stage and loss keys: one preference loss, optionally plus sft:w as pref_ftx. */
export function llamaFactoryLoss(config: TrainConfig): Keys {
  const terms = parseLossSpec(config.loss, config);
  const main = terms.filter((t) => t.name !== "sft");
  const sft = terms.filter((t) => t.name === "sft");
  const also = ", plus sft:w added to a DPO-family loss (pref_ftx)";
  if (main.length !== 1 || sft.length > 1)
    throw new SeapoError(
      `--loss ${config.loss}: LLaMA-Factory trains one preference loss (${supported(LLAMAFACTORY_LOSSES)})${also}`,
    );
  const term = main[0]!;
  if ((term.weight ?? 1) !== 1)
    throw new SeapoError(
      `--loss ${config.loss}: LLaMA-Factory weights its preference loss 1; give ${term.name} weight 1`,
    );
  const { name, keys } = mapTerm(term, LLAMAFACTORY_LOSSES, "LLaMA-Factory", also);
  const pref_beta = sharedBeta(terms, config, "LLaMA-Factory");
  if (name === "kto") {
    // LLaMA-Factory's KTO trainer has pref_ftx too, but rescales it by the batch's share of desirable rows.
    if (sft.length === 1)
      throw new SeapoError(
        `--loss ${config.loss}: LLaMA-Factory's KTO trainer scales pref_ftx by the batch's rows over its desirable rows (train/kto/trainer.py), which seapo's sft term does not; train kto alone`,
      );
    return { stage: "kto", pref_beta, ...keys };
  }
  return {
    stage: "dpo",
    pref_beta,
    pref_loss: name,
    ...keys,
    ...(sft.length === 1 ? { pref_ftx: sft[0]!.weight ?? 1 } : {}),
  };
}

/** TRL's trainer (`trl kto` or `trl dpo`) and loss keys; several DPO-family terms become a loss_type list with loss_weights. */
export function trlLoss(config: TrainConfig, version: TrlVersion): { trainer: "dpo" | "kto"; keys: Keys } {
  const terms = parseLossSpec(config.loss, config);
  const beta = sharedBeta(terms, config, "TRL");
  if (lossRequirements(terms).kind === "unpaired") {
    const term = terms[0]!;
    if (terms.length !== 1 || (term.weight ?? 1) !== 1)
      throw new SeapoError(
        `--loss ${config.loss}: TRL's KTO trainer takes one loss of weight 1 (${supported(TRL_KTO_LOSSES)})`,
      );
    const { name, keys } = mapTerm(term, TRL_KTO_LOSSES, "TRL's KTO trainer");
    return { trainer: "kto", keys: { beta, loss_type: name, ...keys } };
  }
  const table = trlDpoLosses(version);
  const target = `TRL ${TRL_TARGETS[version].tag}'s DPO trainer`;
  const mapped = terms.map((t) => ({ ...mapTerm(t, table, target), weight: t.weight ?? 1 }));
  const names = mapped.map((m) => m.name);
  if (new Set(names).size !== names.length)
    throw new SeapoError(`--loss ${config.loss}: two terms are the same TRL loss (${names.join(", ")})`);
  const keys: Keys = {};
  for (const m of mapped) {
    for (const [key, value] of Object.entries(m.keys)) {
      if (key in keys && keys[key] !== value)
        throw new SeapoError(`--loss ${config.loss}: TRL has one ${key}, but the terms set ${keys[key]} and ${value}`);
      keys[key] = value;
    }
  }
  const weighted = mapped.some((m) => m.weight !== 1);
  const lossType = names.length === 1 ? names[0]! : names;
  return {
    trainer: "dpo",
    keys: { beta, loss_type: lossType, ...(weighted ? { loss_weights: mapped.map((m) => m.weight) } : {}), ...keys },
  };
}
