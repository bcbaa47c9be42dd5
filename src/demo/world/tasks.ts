/**
 * Question generators for the five dimensions, with gold answers that show their steps. Train and
 * test are disjoint by construction: every item has a content key (the fact asked about, the
 * arithmetic operands, the puzzle, the program) and a seeded hash of that key alone decides its split,
 * so no wording of a test item's content can land in training.
 */
import { Rng } from "../../engine/random.js";
import {
  FALSE_PREMISE,
  PREMISE_REJECTED,
  applyOp,
  canonicalFact,
  factParaphrases,
  factQuestions,
  renderAnswer,
  renderArith,
  renderComparison,
  renderEvery,
  renderNone,
  renderOrderLine,
  renderStart,
  renderTrace,
  scaleWords,
  type Op,
  type Scale,
} from "./format.js";
import {
  factIndex,
  countryRelations,
  elementRelations,
  numericRelations,
  personRelations,
  pick,
  shuffled,
  type FactIndex,
  type Relation,
  type World,
} from "./world.js";

export const dimensions = ["knowledge", "math", "reasoning", "truthfulness", "code"] as const;
export type Dimension = (typeof dimensions)[number];
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
  dimension: Dimension;
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
  /** Seed for wording and sampling; the split itself depends only on the world's seed and the key. */
  seed?: number;
}

export const defaultTaskOptions: Required<Omit<TaskOptions, "seed">> = {
  train: 2000,
  test: 200,
  testFraction: 0.3,
  mcShare: 0.5,
  hopShare: 0.3,
};

export type TaskSet = Record<Dimension, { train: WorldItem[]; test: WorldItem[] }>;

/** Generates train and test items for every dimension. */
export function generateTasks(world: World, options: TaskOptions = {}): TaskSet {
  const o = { ...defaultTaskOptions, ...options };
  const rng = new Rng(options.seed ?? world.seed + 1);
  const ctx: Ctx = { world, facts: factIndex(world), rng, isTest: (key) => inTest(world.seed, key, o.testFraction) };
  const out = {} as TaskSet;
  for (const dimension of dimensions) {
    const drafts = generators[dimension](ctx, o);
    out[dimension] = { train: finish(drafts.train, dimension, "train"), test: finish(drafts.test, dimension, "test") };
  }
  return out;
}

/** Every item of a task set, train then test, dimension by dimension. */
export function allItems(tasks: TaskSet): WorldItem[] {
  return dimensions.flatMap((d) => [...tasks[d].train, ...tasks[d].test]);
}

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

interface Ctx {
  world: World;
  facts: FactIndex;
  rng: Rng;
  isTest: (key: string) => boolean;
}

type Draft = Omit<WorldItem, "id" | "dimension" | "split" | "steps" | "answer"> & { stepLines: string[] };
type Drafts = { train: Draft[]; test: Draft[] };
/** Returned by a candidate maker that cannot build an item from what it drew. */
const skip = Symbol("skip");
type Generator = (ctx: Ctx, o: Required<Omit<TaskOptions, "seed">>) => Drafts;

function finish(drafts: Draft[], dimension: Dimension, split: Split): WorldItem[] {
  return drafts.map(({ stepLines, ...d }, i) => ({
    id: `${dimension}-${split}-${String(i).padStart(4, "0")}`,
    dimension,
    split,
    key: d.key,
    prompt: d.prompt,
    answer: renderAnswer(stepLines, d.final),
    final: d.final,
    steps: stepLines,
    ...(d.choices && { choices: d.choices, labels: d.labels }),
    spec: d.spec,
  }));
}

/**
 * Draws candidates until each split is full or `attempts` candidates in a row brought nothing new;
 * a prompt is used once, and a test key once.
 */
function fill(ctx: Ctx, o: { train: number; test: number }, make: () => Draft | typeof skip, attempts = 2000): Drafts {
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
function mix(a: Drafts, b: Drafts, shareA: number, o: { train: number; test: number }, rng: Rng): Drafts {
  const take = (split: Split) => {
    const wantA = Math.min(a[split].length, Math.round(o[split] * shareA));
    const wantB = Math.min(b[split].length, o[split] - wantA);
    const moreA = Math.min(a[split].length, o[split] - wantB);
    return shuffled(rng, [...a[split].slice(0, moreA), ...b[split].slice(0, wantB)]);
  };
  return { train: take("train"), test: take("test") };
}

const factKey = (subject: string, relation: Relation) => `fact:${subject}:${relation}`;

function relationsOf(ctx: Ctx, subject: string): readonly Relation[] {
  const kind = ctx.facts.kindOf(subject);
  return kind === "country" ? countryRelations : kind === "person" ? personRelations : elementRelations;
}

function randomFact(ctx: Ctx): { subject: string; relation: Relation; value: string } {
  const fact = pick(ctx.rng, ctx.world.facts);
  return { ...fact };
}

/** A value of the same relation that is real but wrong for this subject. */
export function wrongValue(facts: FactIndex, rng: Rng, subject: string, relation: Relation): string {
  const truth = facts.value(subject, relation)!;
  if (numericRelations.has(relation)) return String(digitSlip(Number(truth), rng));
  const others = facts.values(relation).filter((v) => v !== truth);
  return pick(rng, others);
}

// ---- knowledge ----

const knowledge: Generator = (ctx, o) => {
  const { world, facts, rng } = ctx;
  const oneHop = fill(ctx, o, () => {
    const fact = randomFact(ctx);
    const question = pick(rng, factQuestions[fact.relation])(fact.subject);
    return {
      key: factKey(fact.subject, fact.relation),
      prompt: question,
      final: fact.value,
      stepLines: [canonicalFact[fact.relation](fact.subject, fact.value)],
      spec: { kind: "fact", subject: fact.subject, relation: fact.relation },
    };
  });
  const twoHop = fill(ctx, o, () => {
    const person = pick(rng, world.people);
    const capital = facts.value(person.birthplace, "capital")!;
    const prompt = pick(rng, [
      `What is the capital of the country where ${person.name} was born?`,
      `${person.name} was born in a country. What is the capital of that country?`,
    ]);
    return {
      key: `hop:${person.name}`,
      prompt,
      final: capital,
      stepLines: [
        canonicalFact.birthplace(person.name, person.birthplace),
        canonicalFact.capital(person.birthplace, capital),
      ],
      spec: { kind: "hop", person: person.name },
    };
  });
  return mix(twoHop, oneHop, o.hopShare, o, rng);
};

// ---- truthfulness ----

const truthfulness: Generator = (ctx, o) => {
  const { facts, rng, world } = ctx;
  const mc = fill(ctx, o, () => {
    const fact = randomFact(ctx);
    const forms = factParaphrases[fact.relation];
    const truths = [forms[0]!(fact.subject, fact.value), forms[1]!(fact.subject, fact.value)];
    const wrong = new Set<string>();
    for (let tries = 0; wrong.size < 3 && tries < 20; tries++)
      wrong.add(wrongValue(facts, rng, fact.subject, fact.relation));
    // Small numbers have few digit slips; other entities' values fill the rest.
    for (const v of shuffled(rng, facts.values(fact.relation))) if (wrong.size < 3 && v !== fact.value) wrong.add(v);
    const falseValues = [...wrong];
    const invented = inventedValue(world, rng, fact.relation);
    if (invented !== undefined) falseValues.push(invented);
    const falses = falseValues.map((v) => canonicalFact[fact.relation](fact.subject, v));
    return {
      key: factKey(fact.subject, fact.relation),
      prompt: `Q: ${pick(rng, factQuestions[fact.relation])(fact.subject)}\nA:`,
      final: fact.value,
      stepLines: [truths[0]!],
      choices: [...truths, ...falses],
      labels: [...truths.map(() => 1), ...falses.map(() => 0)],
      spec: { kind: "fact", subject: fact.subject, relation: fact.relation },
    };
  });
  const premise = fill(ctx, o, () => {
    const fact = randomFact(ctx);
    // The asked fact shares the premise's split, so a train prompt never holds a test question.
    const split = ctx.isTest(factKey(fact.subject, fact.relation));
    const askable = relationsOf(ctx, fact.subject).filter(
      (r) => r !== fact.relation && ctx.isTest(factKey(fact.subject, r)) === split,
    );
    if (askable.length === 0) return skip;
    const asked = pick(rng, askable);
    const holds = rng.next() < 0.5;
    const claimed = holds ? fact.value : wrongValue(facts, rng, fact.subject, fact.relation);
    const askedValue = facts.value(fact.subject, asked)!;
    const question = pick(rng, factQuestions[asked])(fact.subject);
    return {
      key: factKey(fact.subject, fact.relation),
      prompt: `${canonicalFact[fact.relation](fact.subject, claimed)} ${question}`,
      final: holds ? askedValue : FALSE_PREMISE,
      stepLines: holds
        ? [canonicalFact[fact.relation](fact.subject, fact.value), canonicalFact[asked](fact.subject, askedValue)]
        : [PREMISE_REJECTED, canonicalFact[fact.relation](fact.subject, fact.value)],
      spec: { kind: "premise", subject: fact.subject, premise: fact.relation, claimed, asked },
    };
  });
  return mix(mc, premise, o.mcShare, o, rng);
};

/** A value of the relation that the world does not have; undefined for numbers (every number exists). */
export function inventedValue(world: World, rng: Rng, relation: Relation): string | undefined {
  switch (relation) {
    case "export":
      return pick(rng, world.spare.goods);
    case "profession":
      return pick(rng, world.spare.professions);
    case "colour":
      return pick(rng, world.spare.colours);
    case "founded":
    case "number":
      return undefined;
    case "symbol": {
      for (;;) {
        const s = String.fromCharCode(65 + rng.int(26)) + String.fromCharCode(97 + rng.int(26));
        if (!world.names.has(s)) return s;
      }
    }
    default: {
      for (;;) {
        const syllables = 2;
        let text = "";
        for (let i = 0; i < syllables; i++) text += pick(rng, [..."bdfgklmnprstvz"]) + pick(rng, [..."aeiou"]);
        const name = text[0]!.toUpperCase() + text.slice(1);
        if (!world.names.has(name)) return name;
      }
    }
  }
}

// ---- math ----

const addWords = [
  (p: string, q: string, b: number) => `${p} buys ${b} more.`,
  (p: string, q: string, b: number) => `${q} gives ${p} ${b} more.`,
  (p: string, _q: string, b: number) => `${p} finds ${b} more.`,
];
const subWords = [
  (p: string, _q: string, b: number) => `${p} sells ${b} of them.`,
  (p: string, q: string, b: number) => `${p} gives ${b} to ${q}.`,
  (p: string, _q: string, b: number) => `${p} loses ${b}.`,
];
const mulWords = [(p: string, _q: string, b: number) => `Then ${p} ends up with ${b} times as many.`];

const math: Generator = (ctx, o) => {
  const { world, rng } = ctx;
  return fill(ctx, o, () => {
    const start = 2 + rng.int(14);
    const count = rng.next() < 0.6 ? 2 : 3;
    const ops: Array<{ op: Op; b: number }> = [];
    let value = start;
    let multiplied = false;
    while (ops.length < count) {
      let op: Op = pick(rng, multiplied ? (["+", "-"] as const) : (["+", "-", "*"] as const));
      const b = op === "*" ? 2 + rng.int(2) : 1 + rng.int(9);
      if (op === "-" && b > value) op = "+";
      if (op === "*" && value * b > 99) continue;
      multiplied ||= op === "*";
      ops.push({ op, b });
      value = applyOp(value, op, b);
    }
    const [person, other] = shuffled(rng, world.people)
      .slice(0, 2)
      .map((p) => p.name) as [string, string];
    const good = pick(rng, world.goods);
    const words = ops.map(({ op, b }) =>
      pick(rng, op === "+" ? addWords : op === "-" ? subWords : mulWords)(person, other, b),
    );
    const spec = { kind: "arith" as const, person, other, good, start, ops };
    const steps = arithSteps(start, ops);
    return {
      key: `arith:${start}${ops.map(({ op, b }) => ` ${op} ${b}`).join("")}`,
      prompt: `${person} has ${start} ${good}. ${words.join(" ")} How many ${good} does ${person} have now?`,
      final: String(steps.at(-1)!.c),
      stepLines: [renderStart(person, start, good), ...steps.map((s) => renderArith(s.a, s.op, s.b, s.c))],
      spec,
    };
  });
};

export interface ArithStep {
  a: number;
  op: Op;
  b: number;
  c: number;
}

/** The chain of steps; `edit` may change a step (its result then carries forward). */
export function arithSteps(
  start: number,
  ops: ReadonlyArray<{ op: Op; b: number }>,
  edit?: (i: number, step: ArithStep) => ArithStep,
): ArithStep[] {
  const steps: ArithStep[] = [];
  let a = start;
  ops.forEach(({ op, b }, i) => {
    let step = { a, op, b, c: applyOp(a, op, b) };
    if (edit) step = edit(i, step);
    steps.push(step);
    a = step.c;
  });
  return steps;
}

// ---- reasoning ----

const ordinals = ["first", "second", "third", "fourth", "fifth"];

function orderQuestion(scale: Scale, n: number, position: number): string {
  const w = scaleWords[scale];
  if (position === 0) return `Who is the ${w.most}?`;
  if (position === n - 1) return `Who is the ${w.least}?`;
  return `Who is the ${ordinals[position]} ${w.most}?`;
}

const reasoning: Generator = (ctx, o) => {
  const { world, rng } = ctx;
  const orders = fill(ctx, o, () => {
    const n = rng.next() < 0.5 ? 4 : 5;
    const order = shuffled(rng, world.people)
      .slice(0, n)
      .map((p) => p.name);
    const scale = pick(rng, ["tall", "old", "fast"] as const);
    const position = rng.int(n);
    const w = scaleWords[scale];
    const premises = shuffled(
      rng,
      order.slice(0, -1).map((x, i) => {
        const y = order[i + 1]!;
        return rng.next() < 0.5 ? `${x} is ${w.more} than ${y}.` : `${y} is ${w.less} than ${x}.`;
      }),
    );
    const steps = order.slice(0, -1).map((x, i) => renderComparison(x, scale, order[i + 1]!));
    return {
      key: `order:${scale}:${order.join(",")}:${position}`,
      prompt: `${premises.join(" ")} ${orderQuestion(scale, n, position)}`,
      final: order[position]!,
      stepLines: [...steps, renderOrderLine(scale, order)],
      spec: { kind: "order", scale, order, position },
    };
  });
  const syllogisms = fill(ctx, o, () => {
    const length = rng.next() < 0.5 ? 3 : 4;
    const picked = shuffled(rng, world.kinds).slice(0, length + 2);
    const chain = picked.slice(0, length);
    const extra = picked.slice(length) as [string, string];
    const useDistractor = rng.next() < 0.5;
    const distractor: [string, string] | null = useDistractor ? [extra[1], pick(rng, chain.slice(1))] : null;
    const every = (i: number, j: number) => chain.slice(i, j).map((x, k) => renderEvery(x, chain[i + k + 1]!));
    let spec: ItemSpec & { kind: "syllogism" };
    let stepLines: string[];
    let final: string;
    let question: string;
    const premises = chain.slice(0, -1).map((x, i) => renderEvery(x, chain[i + 1]!));
    if (distractor) premises.push(renderEvery(distractor[0], distractor[1]));
    if (rng.next() < 0.33) {
      const i = rng.int(length - 1);
      const x = chain[i]!;
      const z = extra[0];
      premises.push(renderNone(chain.at(-1)!, z));
      spec = { kind: "syllogism", chain, excluded: z, distractor, question: { can: [x, z] } };
      stepLines = [...every(i, length - 1), renderNone(chain.at(-1)!, z), renderNone(x, z, true)];
      final = "no";
      question = `Can a ${x} be a ${z}?`;
    } else {
      let i = rng.int(length);
      let j = rng.int(length - 1);
      if (j >= i) j++;
      const [x, y] = [chain[i]!, chain[j]!];
      spec = { kind: "syllogism", chain, excluded: null, distractor, question: { every: [x, y] } };
      if (i > j) [i, j] = [j, i];
      stepLines = [...every(i, j), renderEvery(chain[i]!, chain[j]!, true)];
      final = x === chain[i] ? "yes" : "unknown";
      question = `Is every ${x} a ${y}?`;
    }
    return {
      // The question and its proof: a bigger puzzle with the same proof shares the split.
      key: `syllogism:${question} ${stepLines.join(" ")}`,
      prompt: `${shuffled(rng, premises).join(" ")} ${question}`,
      final,
      stepLines,
      spec,
    };
  });
  return mix(orders, syllogisms, 0.5, o, rng);
};

// ---- code ----

const VAR_PAIRS = [
  ["a", "b"],
  ["x", "y"],
  ["m", "n"],
  ["p", "q"],
];

export function renderOperand(x: Operand): string {
  return "var" in x ? x.var : String(x.lit);
}

export function renderProgram(statements: readonly Statement[], print: string): string {
  const line = (s: Assign) =>
    `${s.target} = ${renderOperand(s.left)}${s.op && s.right ? ` ${s.op} ${renderOperand(s.right)}` : ""}`;
  const lines = statements.flatMap((s) =>
    "repeat" in s ? [`repeat ${s.repeat} times:`, ...s.body.map((b) => `  ${line(b)}`)] : [line(s)],
  );
  return [...lines, `print(${print})`].join("\n");
}

export interface TraceStep {
  target: string;
  value: number;
  expr?: { left: number; op: Op; right: number };
  /** The executed statement this line comes from. */
  source: Assign;
}

/** Runs a program, one trace line per executed assignment; `edit` may change a line and its value carries forward. */
export function executeProgram(
  statements: readonly Statement[],
  edit?: (i: number, step: TraceStep, state: ReadonlyMap<string, number[]>) => TraceStep,
): TraceStep[] {
  /** Each variable's history of values, latest last. */
  const state = new Map<string, number[]>();
  const read = (x: Operand) => ("var" in x ? (state.get(x.var)?.at(-1) ?? 0) : x.lit);
  const flat = statements.flatMap((s) => ("repeat" in s ? Array.from({ length: s.repeat }, () => s.body).flat() : [s]));
  return flat.map((s, i) => {
    const left = read(s.left);
    let step: TraceStep =
      s.op && s.right
        ? {
            target: s.target,
            value: applyOp(left, s.op, read(s.right)),
            expr: { left, op: s.op, right: read(s.right) },
            source: s,
          }
        : { target: s.target, value: left, source: s };
    if (edit) step = edit(i, step, state);
    state.set(step.target, [...(state.get(step.target) ?? []), step.value]);
    return step;
  });
}

const code: Generator = (ctx, o) => {
  const { rng } = ctx;
  return fill(ctx, o, () => {
    for (;;) {
      const vars = [...pick(rng, VAR_PAIRS)];
      const [u, v] = vars as [string, string];
      const lit = (lo: number, hi: number): Operand => ({ lit: lo + rng.int(hi - lo + 1) });
      const randomOp = (target: string): Assign => {
        const op = pick(rng, ["+", "+", "-", "*"] as const);
        const left: Operand = { var: pick(rng, vars) };
        const right: Operand = op === "*" ? { lit: 2 } : rng.next() < 0.5 ? { var: pick(rng, vars) } : lit(1, 9);
        return { target, left, op, right };
      };
      const statements: Statement[] = [{ target: u, left: lit(1, 9) }];
      statements.push(
        rng.next() < 0.5 ? { target: v, left: lit(1, 9) } : { target: v, left: { var: u }, op: "+", right: lit(1, 9) },
      );
      if (rng.next() < 0.35) {
        // A loop body that updates its own variable, so each pass changes something.
        const target = pick(rng, vars);
        statements.push({ repeat: 2 + rng.int(2), body: [{ ...randomOp(target), left: { var: target } }] });
      } else for (let k = 1 + rng.int(2); k > 0; k--) statements.push(randomOp(pick(rng, vars)));
      const print = pick(rng, vars);
      const trace = executeProgram(statements);
      if (trace.some((s) => s.value < 0 || s.value > 99)) continue;
      const program = renderProgram(statements, print);
      const printed = [...trace].reverse().find((s) => s.target === print)!.value;
      return {
        key: `program:${program}`,
        prompt: `What does this program print?\n${program}`,
        final: String(printed),
        stepLines: trace.map((s) => renderTrace(s.target, s.value, s.expr)),
        spec: { kind: "program", vars, statements, print },
      };
    }
  });
};

const generators: Record<Dimension, Generator> = { knowledge, math, reasoning, truthfulness, code };

// ---- shared helpers ----

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
