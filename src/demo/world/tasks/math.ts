/** Math: word problems of two or three small arithmetic steps about a person and a good. */
import { applyOp, renderArith, renderStart, type Op } from "../format.js";
import { randomChoice, shuffled } from "../world.js";
import { fill, type Generator } from "./drafting.js";

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

export const math: Generator = (ctx, o) => {
  const { world, rng } = ctx;
  return fill(ctx, o, () => {
    const start = 2 + rng.int(14);
    const count = rng.next() < 0.6 ? 2 : 3;
    const ops: Array<{ op: Op; b: number }> = [];
    let value = start;
    let multiplied = false;
    while (ops.length < count) {
      let op: Op = randomChoice(rng, multiplied ? (["+", "-"] as const) : (["+", "-", "*"] as const));
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
    const good = randomChoice(rng, world.goods);
    const words = ops.map(({ op, b }) =>
      randomChoice(rng, op === "+" ? addWords : op === "-" ? subWords : mulWords)(person, other, b),
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
