/**
 * The experiment's three disjoint splits of the embedded world (docs/science.md):
 *   train       the world's train split (the base model's SFT questions); preference pairs come from here;
 *   validation  held-out content keys for choosing hyperparameters, never scored as a result;
 *   test        the other held-out content keys, scored once per committed configuration.
 * An item's identity is its content key (the fact, operands, puzzle or program it asks about): the world
 * already keeps train and held-out keys apart, and here a seeded hash of the key alone splits the held-out
 * keys, so every wording of one key lands in one split and the same world always gives the same splits.
 */
import { dimensions, inTest, type TaskSet, type WorldDimension, type WorldItem } from "./world/index.js";

export const protocolSplits = ["train", "validation", "test"] as const;
export type ProtocolSplit = (typeof protocolSplits)[number];
export type SplitPools = Record<ProtocolSplit, Record<WorldDimension, WorldItem[]>>;

/** Share of held-out content keys that go to validation; the rest are test. */
export const VALIDATION_FRACTION = 0.4;
/** Salts the key hash so the validation cut is independent of the world's own train/held-out cut. */
const VALIDATION_SALT = "validation:";

export function isValidationKey(worldSeed: number, key: string): boolean {
  return inTest(worldSeed, VALIDATION_SALT + key, VALIDATION_FRACTION);
}

/** The three splits of one world's tasks, by dimension, in the tasks' own order. */
export function splitPools(worldSeed: number, tasks: TaskSet): SplitPools {
  const pools = { train: {}, validation: {}, test: {} } as SplitPools;
  for (const d of dimensions) {
    pools.train[d] = tasks[d].train;
    pools.validation[d] = tasks[d].test.filter((item) => isValidationKey(worldSeed, item.key));
    pools.test[d] = tasks[d].test.filter((item) => !isValidationKey(worldSeed, item.key));
  }
  return pools;
}
