/** Code: tiny straight-line programs with an optional loop; the gold answer is the execution trace. */
import { applyOp, renderTrace, type Op } from "../format.js";
import { randomChoice } from "../world.js";
import { fill, type Generator } from "./drafting.js";
import type { Assign, Operand, Statement } from "./items.js";

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

export const code: Generator = (ctx, o) => {
  const { rng } = ctx;
  return fill(ctx, o, () => {
    for (;;) {
      const vars = [...randomChoice(rng, VAR_PAIRS)];
      const [u, v] = vars as [string, string];
      const lit = (lo: number, hi: number): Operand => ({ lit: lo + rng.int(hi - lo + 1) });
      const randomOp = (target: string): Assign => {
        const op = randomChoice(rng, ["+", "+", "-", "*"] as const);
        const left: Operand = { var: randomChoice(rng, vars) };
        const right: Operand =
          op === "*" ? { lit: 2 } : rng.next() < 0.5 ? { var: randomChoice(rng, vars) } : lit(1, 9);
        return { target, left, op, right };
      };
      const statements: Statement[] = [{ target: u, left: lit(1, 9) }];
      statements.push(
        rng.next() < 0.5 ? { target: v, left: lit(1, 9) } : { target: v, left: { var: u }, op: "+", right: lit(1, 9) },
      );
      if (rng.next() < 0.35) {
        // A loop body that updates its own variable, so each pass changes something.
        const target = randomChoice(rng, vars);
        statements.push({ repeat: 2 + rng.int(2), body: [{ ...randomOp(target), left: { var: target } }] });
      } else for (let k = 1 + rng.int(2); k > 0; k--) statements.push(randomOp(randomChoice(rng, vars)));
      const print = randomChoice(rng, vars);
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
