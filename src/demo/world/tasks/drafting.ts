/**
 * The machinery every dimension's generator shares: drafts, filling both splits from a candidate
 * maker, mixing two draft sets, the split rule, and the fact helpers several dimensions draw on.
 */
import type { Rng } from "../../../engine/index.js";
import {
  numericRelations,
  randomChoice,
  shuffled,
  countryRelations,
  elementRelations,
  personRelations,
  type FactIndex,
  type Relation,
  type World,
} from "../world.js";
import type { Split, TaskOptions, WorldItem } from "./items.js";

/** FNV-1a of seed and key, mapped to [0, 1): the split depends on nothing else. */
export function inTest(seed: number, key: string, fraction: number): boolean {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296 < fraction;
}

export interface Ctx {
  world: World;
  facts: FactIndex;
  rng: Rng;
  isTest: (key: string) => boolean;
}

export type Draft = Omit<WorldItem, "id" | "dimension" | "split" | "steps" | "answer"> & { stepLines: string[] };
export type Drafts = { train: Draft[]; test: Draft[] };
/** Returned by a candidate maker that cannot build an item from what it drew. */
export const skip = Symbol("skip");
export type Generator = (ctx: Ctx, o: Required<Omit<TaskOptions, "seed">>) => Drafts;

/**
 * Draws candidates until each split is full or `attempts` candidates in a row brought nothing new;
 * a prompt is used once, and a test key once.
 */
export function fill(
  ctx: Ctx,
  o: { train: number; test: number },
  make: () => Draft | typeof skip,
  attempts = 2000,
): Drafts {
  const out: Drafts = { train: [], test: [] };
  const seen = new Set<string>();
  const testKeys = new Set<string>();
  let misses = 0;
  while ((out.train.length < o.train || out.test.length < o.test) && misses < attempts) {
    const draft = make();
    if (draft === skip) {
      misses++;
      continue;
    }
    const split = ctx.isTest(draft.key) ? "test" : "train";
    const bucket = out[split];
    // A test key is asked once, so test items are independent.
    if (seen.has(draft.prompt) || bucket.length >= o[split] || (split === "test" && testKeys.has(draft.key))) {
      misses++;
      continue;
    }
    seen.add(draft.prompt);
    if (split === "test") testKeys.add(draft.key);
    bucket.push(draft);
    misses = 0;
  }
  return out;
}

/** Merges two draft sets in the given proportion of each split's target size. */
export function mix(a: Drafts, b: Drafts, shareA: number, o: { train: number; test: number }, rng: Rng): Drafts {
  const take = (split: Split) => {
    const wantA = Math.min(a[split].length, Math.round(o[split] * shareA));
    const wantB = Math.min(b[split].length, o[split] - wantA);
    const moreA = Math.min(a[split].length, o[split] - wantB);
    return shuffled(rng, [...a[split].slice(0, moreA), ...b[split].slice(0, wantB)]);
  };
  return { train: take("train"), test: take("test") };
}

export const factKey = (subject: string, relation: Relation) => `fact:${subject}:${relation}`;

export function relationsOf(ctx: Ctx, subject: string): readonly Relation[] {
  const kind = ctx.facts.kindOf(subject);
  return kind === "country" ? countryRelations : kind === "person" ? personRelations : elementRelations;
}

export function randomFact(ctx: Ctx): { subject: string; relation: Relation; value: string } {
  const fact = randomChoice(ctx.rng, ctx.world.facts);
  return { ...fact };
}

/** A value of the same relation that is real but wrong for this subject. */
export function wrongValue(facts: FactIndex, rng: Rng, subject: string, relation: Relation): string {
  const truth = facts.value(subject, relation)!;
  if (numericRelations.has(relation)) return String(digitSlip(Number(truth), rng));
  const others = facts.values(relation).filter((v) => v !== truth);
  return randomChoice(rng, others);
}

/**
 * A typo-like change to a number, the error small models make most: one digit moves by one, or two
 * digits swap. Never returns the same number, a negative one, or one with a new leading zero.
 */
export function digitSlip(n: number, rng: Rng): number {
  const digits = [...String(n)];
  for (let tries = 0; tries < 20; tries++) {
    const d = [...digits];
    if (d.length >= 2 && d[0] !== d[1] && rng.next() < 0.25) {
      const i = rng.int(d.length - 1);
      [d[i], d[i + 1]] = [d[i + 1]!, d[i]!];
    } else {
      const i = rng.int(d.length);
      const x = Number(d[i]) + (rng.next() < 0.5 ? -1 : 1);
      if (x < 0 || x > 9) continue;
      d[i] = String(x);
    }
    if (d.length > 1 && d[0] === "0") continue;
    const m = Number(d.join(""));
    if (m !== n) return m;
  }
  return n + 1;
}
