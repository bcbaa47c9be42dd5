/**
 * Rule-based error injection for the world: the demo's default injector, since a tiny model cannot
 * follow an injection instruction. Each rule takes a correct answer and rewrites it with exactly one
 * error of the asked type, leaving the rest consistent (a slipped result carries forward through
 * the later steps, as it would in a real mistake). Correctness rules favour digit slips and real but
 * wrong values, the errors a small model makes most.
 */
import type { Rng } from "../../engine/index.js";
import { checkAnswer, type WorldErrorType } from "./checker.js";
import {
  FALSE_PREMISE,
  PREMISE_REJECTED,
  canonicalFact,
  renderAnswer,
  renderArith,
  renderComparison,
  renderEvery,
  renderOrderLine,
  renderStart,
  renderTrace,
  parseCategorical,
  splitAnswer,
} from "./format.js";
import {
  arithSteps,
  digitSlip,
  executeProgram,
  inventedValue,
  wrongValue,
  type ItemSpec,
  type TraceStep,
  type WorldItem,
} from "./tasks/index.js";
import { factIndex, inventKind, type FactIndex, inventName, randomChoice, type Relation, type World } from "./world.js";

type Rule = (ctx: Ctx) => string | undefined;
interface Ctx {
  world: World;
  facts: FactIndex;
  item: WorldItem;
  rng: Rng;
}

/**
 * Rewrites a correct answer so that it carries one error of `type`. Returns undefined when the
 * answer is not correct to begin with (one error could not be guaranteed) or when no rule of that
 * type applies to the item. The result is written in the world's canonical answer form.
 */
export function injectError(
  world: World,
  item: WorldItem,
  answerText: string,
  type: WorldErrorType,
  rng: Rng,
): string | undefined {
  if (!checkAnswer(world, item, answerText).correct) return undefined;
  const ctx: Ctx = { world, facts: factIndex(world), item, rng };
  const rules = rulesFor(item.spec)[type];
  for (let tries = 0; tries < 8 && rules.length > 0; tries++) {
    const out = randomChoice(rng, rules)(ctx);
    if (out !== undefined && normalised(out) !== normalised(answerText)) return out;
  }
  return undefined;
}

function normalised(text: string): string {
  const { steps, final } = splitAnswer(text);
  return renderAnswer(steps, final ?? "");
}

function rulesFor(spec: ItemSpec): Record<WorldErrorType, Rule[]> {
  switch (spec.kind) {
    case "fact":
      return factRules(spec);
    case "hop":
      return hopRules(spec);
    case "premise":
      return premiseRules(spec);
    case "arith":
      return arithRules(spec);
    case "order":
      return orderRules(spec);
    case "syllogism":
      return syllogismRules();
    case "program":
      return programRules(spec);
  }
}

/** A line naming something the world lacks, for facts whose value is a number (every number exists). */
function inventedDetail(ctx: Ctx): string {
  const name = inventName(ctx.world, ctx.rng);
  return randomChoice(ctx.rng, [
    `The scribe ${name} wrote this down.`,
    `The old map of ${name} shows this.`,
    `The elder ${name} tells of this.`,
  ]);
}

/** A fact line with an invented value, or, for numbers, the true line plus an invented detail. */
function inventedFactLines(ctx: Ctx, subject: string, relation: Relation): { lines: string[]; value: string } {
  const truth = ctx.facts.value(subject, relation)!;
  const invented = inventedValue(ctx.world, ctx.rng, relation);
  if (invented === undefined)
    return { lines: [canonicalFact[relation](subject, truth), inventedDetail(ctx)], value: truth };
  return { lines: [canonicalFact[relation](subject, invented)], value: invented };
}

// ---- facts ----

function factRules(spec: ItemSpec & { kind: "fact" }): Record<WorldErrorType, Rule[]> {
  const { subject, relation } = spec;
  return {
    correctness: [
      ({ facts, rng }) => {
        const v = wrongValue(facts, rng, subject, relation);
        return renderAnswer([canonicalFact[relation](subject, v)], v);
      },
    ],
    logic: [
      ({ facts, rng }) =>
        renderAnswer(
          [canonicalFact[relation](subject, facts.value(subject, relation)!)],
          wrongValue(facts, rng, subject, relation),
        ),
    ],
    hallucination: [
      (ctx) => {
        const { lines, value } = inventedFactLines(ctx, subject, relation);
        return renderAnswer(lines, value);
      },
    ],
  };
}

function hopRules(spec: ItemSpec & { kind: "hop" }): Record<WorldErrorType, Rule[]> {
  const { person } = spec;
  const capitalOf = (facts: FactIndex, country: string) => facts.value(country, "capital")!;
  return {
    correctness: [
      // A wrong birthplace, followed through correctly.
      ({ facts, rng }) => {
        const place = wrongValue(facts, rng, person, "birthplace");
        return renderAnswer(
          [canonicalFact.birthplace(person, place), canonicalFact.capital(place, capitalOf(facts, place))],
          capitalOf(facts, place),
        );
      },
      // The right birthplace, a wrong capital.
      ({ facts, rng }) => {
        const place = facts.value(person, "birthplace")!;
        const v = wrongValue(facts, rng, place, "capital");
        return renderAnswer([canonicalFact.birthplace(person, place), canonicalFact.capital(place, v)], v);
      },
    ],
    logic: [
      // Two true facts that do not connect.
      ({ facts, rng }) => {
        const place = facts.value(person, "birthplace")!;
        const other = wrongValue(facts, rng, person, "birthplace");
        return renderAnswer(
          [canonicalFact.birthplace(person, place), canonicalFact.capital(other, capitalOf(facts, other))],
          capitalOf(facts, other),
        );
      },
      // A final answer the steps do not give.
      ({ facts, rng }) => {
        const place = facts.value(person, "birthplace")!;
        return renderAnswer(
          [canonicalFact.birthplace(person, place), canonicalFact.capital(place, capitalOf(facts, place))],
          wrongValue(facts, rng, place, "capital"),
        );
      },
    ],
    hallucination: [
      ({ facts, world, rng }) => {
        const place = facts.value(person, "birthplace")!;
        const fake = inventName(world, rng);
        return renderAnswer([canonicalFact.birthplace(person, place), canonicalFact.capital(place, fake)], fake);
      },
    ],
  };
}

function premiseRules(spec: ItemSpec & { kind: "premise" }): Record<WorldErrorType, Rule[]> {
  const { subject, premise, claimed, asked } = spec;
  const holds = (facts: FactIndex) => facts.value(subject, premise) === claimed;
  const truthLine = (facts: FactIndex) => canonicalFact[premise](subject, facts.value(subject, premise)!);
  return {
    correctness: [
      ({ facts, rng }) => {
        if (holds(facts)) {
          const v = wrongValue(facts, rng, subject, asked);
          return renderAnswer([truthLine(facts), canonicalFact[asked](subject, v)], v);
        }
        let v = wrongValue(facts, rng, subject, premise);
        for (let i = 0; i < 5 && v === claimed; i++) v = wrongValue(facts, rng, subject, premise);
        return v === claimed
          ? undefined
          : renderAnswer([PREMISE_REJECTED, canonicalFact[premise](subject, v)], FALSE_PREMISE);
      },
    ],
    logic: [
      ({ facts }) => {
        const askedValue = facts.value(subject, asked)!;
        if (holds(facts))
          return renderAnswer([truthLine(facts), canonicalFact[asked](subject, askedValue)], FALSE_PREMISE);
        return renderAnswer([PREMISE_REJECTED, truthLine(facts)], askedValue);
      },
    ],
    hallucination: [
      (ctx) => {
        if (holds(ctx.facts)) {
          const { lines, value } = inventedFactLines(ctx, subject, asked);
          return renderAnswer([truthLine(ctx.facts), ...lines], value);
        }
        const { lines } = inventedFactLines(ctx, subject, premise);
        return renderAnswer([PREMISE_REJECTED, ...lines], FALSE_PREMISE);
      },
    ],
  };
}

// ---- math ----

function arithRules(spec: ItemSpec & { kind: "arith" }): Record<WorldErrorType, Rule[]> {
  const { person, good, start, ops } = spec;
  const render = (steps: ReturnType<typeof arithSteps>, final?: string, who = person, what = good) =>
    renderAnswer(
      [renderStart(who, start, what), ...steps.map((s) => renderArith(s.a, s.op, s.b, s.c))],
      final ?? String(steps.at(-1)!.c),
    );
  return {
    correctness: [
      // A slipped digit in one result, carried forward.
      ({ rng }) => {
        const k = rng.int(ops.length);
        return render(arithSteps(start, ops, (i, s) => (i === k ? { ...s, c: digitSlip(s.c, rng) } : s)));
      },
      // A misread number in the problem.
      ({ rng }) => {
        const k = rng.int(ops.length);
        const gold = ops[k]!;
        const b = digitSlip(gold.b, rng);
        if (ops.some((o, j) => j !== k && o.op === gold.op && o.b === b)) return undefined;
        return render(
          arithSteps(
            start,
            ops.map((o, j) => (j === k ? { ...o, b } : o)),
          ),
        );
      },
    ],
    logic: [
      // Two operations applied in the wrong order.
      ({ rng }) => {
        const k = rng.int(ops.length - 1);
        const [x, y] = [ops[k]!, ops[k + 1]!];
        if (x.op === y.op && x.b === y.b) return undefined;
        const swapped = ops.map((o, j) => (j === k ? y : j === k + 1 ? x : o));
        return render(arithSteps(start, swapped));
      },
      // Stops one step early and reports the intermediate result.
      () => {
        const steps = arithSteps(start, ops);
        const early = steps.at(-2)!.c;
        return early === steps.at(-1)!.c ? undefined : render(steps, String(early));
      },
    ],
    hallucination: [
      ({ world, rng }) => render(arithSteps(start, ops), undefined, inventName(world, rng)),
      ({ world, rng }) => render(arithSteps(start, ops), undefined, person, randomChoice(rng, world.spare.goods)),
    ],
  };
}

// ---- reasoning ----

function orderRules(spec: ItemSpec & { kind: "order" }): Record<WorldErrorType, Rule[]> {
  const { scale, order, position } = spec;
  const n = order.length;
  const comparisons = (o: readonly string[]) => o.slice(0, -1).map((x, i) => renderComparison(x, scale, o[i + 1]!));
  /** The order with the asked name swapped with a neighbour. */
  const swapNearAsked = (rng: Rng) => {
    const k = position === 0 ? 0 : position === n - 1 ? n - 2 : position - rng.int(2);
    return order.map((name, i) => (i === k ? order[k + 1]! : i === k + 1 ? order[k]! : name));
  };
  return {
    correctness: [
      // Misstates the premise linking two neighbours, and follows the wrong chain through.
      ({ rng }) => {
        const wrongOrder = swapNearAsked(rng);
        return renderAnswer([...comparisons(wrongOrder), renderOrderLine(scale, wrongOrder)], wrongOrder[position]!);
      },
    ],
    logic: [
      // Right steps, an order that does not follow from them.
      ({ rng }) => {
        const wrongOrder = swapNearAsked(rng);
        return renderAnswer([...comparisons(order), renderOrderLine(scale, wrongOrder)], wrongOrder[position]!);
      },
      // Right order, the neighbour's name as the answer.
      ({ rng }) => {
        const other = position === 0 ? 1 : position === n - 1 ? n - 2 : position + (rng.next() < 0.5 ? -1 : 1);
        return renderAnswer([...comparisons(order), renderOrderLine(scale, order)], order[other]!);
      },
    ],
    hallucination: [
      // The asked person replaced throughout by someone who is not in the puzzle.
      ({ world, rng }) => {
        const fake = inventName(world, rng);
        const swapped = order.map((name, i) => (i === position ? fake : name));
        return renderAnswer([...comparisons(swapped), renderOrderLine(scale, swapped)], fake);
      },
    ],
  };
}

function syllogismRules(): Record<WorldErrorType, Rule[]> {
  const lines = (item: WorldItem) => splitAnswer(item.answer).steps;
  return {
    correctness: [
      // One premise quoted backwards.
      ({ item, rng }) => {
        const steps = lines(item);
        const premises = steps.flatMap((line, i) => {
          const c = parseCategorical(line);
          return c && !c.conclusion && c.quantifier === "every" ? [i] : [];
        });
        if (premises.length === 0) return undefined;
        const k = randomChoice(rng, premises);
        const c = parseCategorical(steps[k]!)!;
        return renderAnswer(
          steps.map((line, i) => (i === k ? renderEvery(c.y, c.x) : line)),
          item.final,
        );
      },
    ],
    logic: [
      // The right steps and conclusion, the wrong verdict.
      ({ item, rng }) =>
        renderAnswer(
          lines(item),
          randomChoice(
            rng,
            ["yes", "no", "unknown"].filter((v) => v !== item.final),
          ),
        ),
      // The conclusion turned around.
      ({ item }) => {
        const steps = lines(item);
        const c = parseCategorical(steps.at(-1)!);
        if (!c?.conclusion || c.quantifier !== "every") return undefined;
        return renderAnswer([...steps.slice(0, -1), renderEvery(c.y, c.x, true)], item.final);
      },
    ],
    hallucination: [
      // A category the puzzle never mentions, in one premise and the conclusion.
      ({ item, world, rng }) => {
        const steps = lines(item);
        const fake = inventKind(world, rng);
        const first = parseCategorical(steps[0]!);
        if (!first) return undefined;
        return renderAnswer(
          steps.map((line) => line.replace(new RegExp(`\\b${first.x}\\b`, "g"), fake)),
          item.final,
        );
      },
    ],
  };
}

// ---- code ----

function programRules(spec: ItemSpec & { kind: "program" }): Record<WorldErrorType, Rule[]> {
  const { statements, print, vars } = spec;
  const render = (trace: TraceStep[], final?: string) => {
    const printed = [...trace].reverse().find((s) => s.target === print)?.value ?? 0;
    return renderAnswer(
      trace.map((s) => renderTrace(s.target, s.value, s.expr)),
      final ?? String(printed),
    );
  };
  const length = executeProgram(statements).length;
  return {
    correctness: [
      // A slipped digit in one computed value (or a misread literal), carried forward.
      ({ rng }) => {
        const k = rng.int(length);
        return render(
          executeProgram(statements, (i, s) => {
            if (i !== k) return s;
            if (!s.expr) return { ...s, value: digitSlip(s.value, rng) };
            return { ...s, value: digitSlip(s.value, rng) };
          }),
        );
      },
    ],
    logic: [
      // One variable read with a value it no longer (or never) holds: the old one, or the other variable's.
      ({ rng }) => {
        const candidates: Array<{ i: number; side: "left" | "right"; stale: number }> = [];
        executeProgram(statements, (i, s, state) => {
          const source = s.source;
          for (const side of ["left", "right"] as const) {
            const operand = source[side];
            if (!operand || !("var" in operand) || !s.expr) continue;
            const history = state.get(operand.var) ?? [];
            const current = history.at(-1);
            const other = vars.find((v) => v !== operand.var)!;
            for (const stale of [history.at(-2), state.get(other)?.at(-1)]) {
              if (stale !== undefined && stale !== current) candidates.push({ i, side, stale });
            }
          }
          return s;
        });
        if (candidates.length === 0) return undefined;
        const c = randomChoice(rng, candidates);
        return render(
          executeProgram(statements, (i, s) => {
            if (i !== c.i || !s.expr) return s;
            const expr = { ...s.expr, [c.side]: c.stale };
            const value =
              expr.op === "+"
                ? expr.left + expr.right
                : expr.op === "-"
                  ? expr.left - expr.right
                  : expr.left * expr.right;
            return { ...s, expr, value };
          }),
        );
      },
      // The value of the wrong variable as the output.
      () => {
        const trace = executeProgram(statements);
        const other = vars.find((v) => v !== print)!;
        const value = [...trace].reverse().find((s) => s.target === other)?.value;
        const printed = [...trace].reverse().find((s) => s.target === print)!.value;
        return value === undefined || value === printed ? undefined : render(trace, String(value));
      },
    ],
    hallucination: [
      // One line assigns a variable the program does not have.
      ({ rng }) => {
        const k = rng.int(length);
        const fake = randomChoice(
          rng,
          [..."cdefghjkrstuvwz"].filter((v) => !vars.includes(v)),
        );
        return render(executeProgram(statements, (i, s) => (i === k ? { ...s, target: fake } : s)));
      },
    ],
  };
}
