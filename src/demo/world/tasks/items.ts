/**
 * The shapes of the world's task items, the five dimensions they cover, and the generation options.
 */
import type { Op, Scale } from "../format.js";
import type { Relation } from "../world.js";

export const dimensions = ["knowledge", "math", "reasoning", "truthfulness", "code"] as const;
export type WorldDimension = (typeof dimensions)[number];
export type Split = "train" | "test";

export type Operand = { var: string } | { lit: number };
export interface Assign {
  target: string;
  left: Operand;
  op?: Op;
  right?: Operand;
}
export type Statement = Assign | { repeat: number; body: Assign[] };

export type ItemSpec =
  | { kind: "fact"; subject: string; relation: Relation }
  /** The capital of the country where a person was born: two hops. */
  | { kind: "hop"; person: string }
  /** A question resting on a stated fact that may be false. */
  | { kind: "premise"; subject: string; premise: Relation; claimed: string; asked: Relation }
  | { kind: "arith"; person: string; other: string; good: string; start: number; ops: Array<{ op: Op; b: number }> }
  /** `order` runs from most to least; `position` indexes it. */
  | { kind: "order"; scale: Scale; order: string[]; position: number }
  /** Every chain[i] is a chain[i+1]; no chain[last] is an `excluded`; every `distractor[0]` is a `distractor[1]`. */
  | {
      kind: "syllogism";
      chain: string[];
      excluded: string | null;
      distractor: [string, string] | null;
      question: { every: [string, string] } | { can: [string, string] };
    }
  | { kind: "program"; vars: string[]; statements: Statement[]; print: string };

export interface WorldItem {
  id: string;
  dimension: WorldDimension;
  split: Split;
  /** The content key the split was decided on; train and test never share one. */
  key: string;
  prompt: string;
  /** The gold answer: worked steps, then `Answer: <final>`. */
  answer: string;
  /** The checkable final answer. */
  final: string;
  steps: string[];
  /** Truthfulness multiple choice: true answers first (`labels` 1), then false ones (0); MC1 takes the first true one. */
  choices?: string[];
  labels?: number[];
  spec: ItemSpec;
}

export interface TaskOptions {
  /** Training items per dimension (fewer when the world has fewer distinct ones). */
  train?: number;
  /** Test items per dimension. */
  test?: number;
  /** Share of content keys held out for test. */
  testFraction?: number;
  /** Share of truthfulness items that are multiple choice (the rest are false-premise questions). */
  mcShare?: number;
  /** Share of knowledge items that need two hops. */
  hopShare?: number;
  /** People in an ordering puzzle: one of the two sizes, even odds. */
  orderSizes?: readonly [number, number];
  /** Categories in a syllogism's chain: one of the two lengths, even odds. */
  syllogismLengths?: readonly [number, number];
  /** Seed for wording and sampling; the split itself depends only on the world's seed and the key. */
  seed?: number;
}

export const defaultTaskOptions: Required<Omit<TaskOptions, "seed">> = {
  train: 2000,
  test: 200,
  testFraction: 0.3,
  mcShare: 0.5,
  hopShare: 0.3,
  orderSizes: [4, 5],
  syllogismLengths: [3, 4],
};

export type TaskSet = Record<WorldDimension, { train: WorldItem[]; test: WorldItem[] }>;
