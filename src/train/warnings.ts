/**
 * Settings that train but probably not as meant: each gives one line on the run's log before the
 * first step. (Settings that cannot train at all are refused in config.ts.)
 */
import type { TrainConfig } from "./config.js";
import type { TokenizedRows } from "./data.js";
import { LOSSES, type LossTerm } from "./losses/index.js";

/** The warnings of a run, as log lines without their "warning: " prefix. */
export function trainWarnings(config: TrainConfig, terms: readonly LossTerm[], data: TokenizedRows): string[] {
  const warnings: string[] = [];
  if (config.finetuning === "lora" && config.lora.dropout > 0 && config.disableDropout)
    warnings.push(
      `--lora-dropout ${config.lora.dropout} has no effect: dropout is switched off (TRL's disable_dropout default); pass --no-disable-dropout to train with it`,
    );
  if (data.kind === "listwise" && data.rows.every((row) => row.rejected.length === 1))
    warnings.push(
      `every row has one rejected answer, so ${terms.map((t) => t.name).join(",")} trains plain DPO; seapo inject --strategy all writes several per prompt`,
    );
  if (data.kind === "unpaired") {
    const desirable = data.rows.filter((row) => row.label).length;
    for (const term of terms) {
      const line = classWeightWarning(term, desirable, data.rows.length - desirable);
      if (line !== undefined) warnings.push(line);
    }
  }
  return warnings;
}

/**
 * KTO's class weights should make w_d·n_d / (w_u·n_u) fall in [1, 4/3] (KTO paper, Eq. 8). The
 * bounds are TRL's (KTOTrainer._prepare_dataset, v1.9.0): each weight's range given the other,
 * with 1.33 for 4/3 and rounded to two decimals; in range when either weight is. TRL checks only
 * when the class counts differ; this checks always, as the ratio applies all the same.
 */
export function classWeightWarning(term: LossTerm, desirable: number, undesirable: number): string | undefined {
  const defaults: Readonly<Record<string, number | null>> = LOSSES[term.name].params;
  if (!("desirable_weight" in defaults)) return undefined;
  const params = term.params ?? {};
  const wd = params.desirable_weight ?? defaults.desirable_weight ?? 1;
  const wu = params.undesirable_weight ?? defaults.undesirable_weight ?? 1;
  const [nd, nu] = [Math.max(desirable, 1), Math.max(undesirable, 1)];
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const desirableRange = [round2((nu * wu) / nd), round2(((nu * wu) / nd) * 1.33)] as const;
  const undesirableRange = [round2((nd * wd) / nu / 1.33), round2((nd * wd) / nu)] as const;
  const inside = (w: number, [lo, hi]: readonly [number, number]) => lo <= w && w <= hi;
  if (inside(wd, desirableRange) || inside(wu, undesirableRange)) return undefined;
  return (
    `${term.name}: with ${desirable} desirable and ${undesirable} undesirable rows, desirable_weight ${wd} and undesirable_weight ${wu} ` +
    `put the weighted ratio at ${((wd * nd) / (wu * nu)).toFixed(3)}, outside KTO's recommended [1, 4/3]; ` +
    `set desirable_weight in [${desirableRange.join(", ")}] or undesirable_weight in [${undesirableRange.join(", ")}] (not both)`
  );
}
