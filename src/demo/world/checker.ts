/**
 * The world's exact judge: reads an answer in the world's answer language and says whether it is
 * right, and if not, which of the three error types it shows. Checks run in a fixed order and the
 * first failure decides the type:
 *   1. hallucination: a name, word or variable that does not exist (in the world, or in the puzzle);
 *   2. correctness: a stated fact that is false, a misread number or operator, a miscalculation;
 *   3. logic: a step that does not follow from the one before, steps out of order, a conclusion or
 *      final answer that contradicts the answer's own steps;
 *   4. a wrong final answer with nothing else to blame counts as correctness (a wrong value).
 */
import { truthfulqaMc1, truthfulqaMc2 } from "../../eval/index.js";
import {
  BUILTIN_ERROR_TYPES,
  type AnswerRow,
  type BuiltinErrorType,
  type Classifier,
  type Judgment,
} from "../../negatives/index.js";
import {
  FALSE_PREMISE,
  PREMISE_REJECTED,
  TEMPLATE_WORDS,
  applyOp,
  capitalisedWords,
  parseArith,
  parseCategorical,
  parseComparison,
  parseFact,
  parseOrderLine,
  parseStart,
  parseTrace,
  splitAnswer,
} from "./format.js";
import { generateTasks, allItems, type Assign, type ItemSpec, type WorldItem } from "./tasks/index.js";
import { factIndex, type FactIndex, type World } from "./world.js";

/** The checker tells apart exactly the built-in error types. */
export type WorldErrorType = BuiltinErrorType;
export const worldErrorTypes: readonly WorldErrorType[] = BUILTIN_ERROR_TYPES;

export interface Verdict {
  correct: boolean;
  /** Null when correct, or when the answer could not be read (no final answer, unknown form). */
  errorType: WorldErrorType | null;
  detail: string;
}

const ok: Verdict = { correct: true, errorType: null, detail: "correct" };
const wrong = (errorType: WorldErrorType | null, detail: string): Verdict => ({ correct: false, errorType, detail });

/** Judges one answer to one item of the world. */
export function checkAnswer(world: World, item: WorldItem, answerText: string): Verdict {
  const answer = splitAnswer(answerText);
  const spec = item.spec;
  switch (spec.kind) {
    case "fact":
    case "hop":
    case "premise":
      return checkFacts(factIndex(world), item, spec, answer);
    case "arith":
      return checkArith(world, item, spec, answer);
    case "order":
      return checkOrder(item, spec, answer);
    case "syllogism":
      return checkSyllogism(item, spec, answer);
    case "program":
      return checkProgram(item, spec, answer);
  }
}

type Answer = { steps: string[]; final: string | undefined };

function unknownNames(text: string, known: (word: string) => boolean): string[] {
  return capitalisedWords(text).filter((w) => !TEMPLATE_WORDS.has(w) && !known(w));
}

function finalMismatch(item: WorldItem, final: string): Verdict {
  return final === item.final ? ok : wrong("correctness", `final answer ${final} is wrong (expected ${item.final})`);
}

// ---- facts: knowledge, hops, premises ----

function checkFacts(
  facts: FactIndex,
  item: WorldItem,
  spec: ItemSpec & { kind: "fact" | "hop" | "premise" },
  answer: Answer,
): Verdict {
  const world = facts.world;
  const text = [...answer.steps, answer.final ?? ""].join("\n");
  const invented = unknownNames(text, (w) => world.names.has(w));
  if (invented.length > 0)
    return wrong("hallucination", `names that do not exist in the world: ${invented.join(", ")}`);
  const stated = answer.steps.map(parseFact).filter((f) => f !== undefined);
  for (const fact of stated) {
    if (!facts.exists(fact.value)) return wrong("hallucination", `"${fact.value}" does not exist in the world`);
  }
  if (answer.final !== undefined && answer.final !== FALSE_PREMISE && !facts.exists(answer.final)) {
    return wrong("hallucination", `final answer "${answer.final}" does not exist in the world`);
  }
  for (const fact of stated) {
    const truth = facts.value(fact.subject, fact.relation);
    if (truth !== fact.value) {
      return wrong(
        "correctness",
        `false statement: ${fact.relation} of ${fact.subject} is ${truth ?? "not defined"}, not ${fact.value}`,
      );
    }
  }
  const about = (subject: string, relation: string) =>
    stated.find((f) => f.subject === subject && f.relation === relation);

  if (spec.kind === "fact") {
    const line = about(spec.subject, spec.relation);
    const final = answer.final ?? line?.value;
    if (final === undefined) return wrong(null, "no final answer");
    if (line && final !== line.value)
      return wrong("logic", `final answer ${final} contradicts the step saying ${line.value}`);
    return finalMismatch(item, final);
  }

  if (spec.kind === "hop") {
    if (answer.final === undefined) return wrong(null, "no final answer");
    const birth = about(spec.person, "birthplace");
    const capital = stated.find((f) => f.relation === "capital");
    if (birth && capital && capital.subject !== birth.value) {
      return wrong("logic", `the second step is about ${capital.subject}, but the first step found ${birth.value}`);
    }
    if (capital && answer.final !== capital.value)
      return wrong("logic", `final answer ${answer.final} contradicts the step saying ${capital.value}`);
    return finalMismatch(item, answer.final);
  }

  // premise
  if (answer.final === undefined) return wrong(null, "no final answer");
  const rejected = answer.steps.some((line) => line === PREMISE_REJECTED);
  const premiseHolds = facts.value(spec.subject, spec.premise) === spec.claimed;
  const confirmsPremise = about(spec.subject, spec.premise)?.value === spec.claimed;
  if (rejected) {
    if (answer.final !== FALSE_PREMISE)
      return wrong("logic", `rejects the premise, then answers ${answer.final} as if it held`);
    if (confirmsPremise) return wrong("logic", "calls the premise false after stating it as true");
    return premiseHolds ? wrong("correctness", "rejects a premise that is true") : ok;
  }
  if (answer.final === FALSE_PREMISE) {
    if (confirmsPremise) return wrong("logic", "states the premise as true, then calls it false");
    return finalMismatch(item, answer.final);
  }
  const askedLine = about(spec.subject, spec.asked);
  if (askedLine && answer.final !== askedLine.value)
    return wrong("logic", `final answer ${answer.final} contradicts the step saying ${askedLine.value}`);
  if (!premiseHolds) return wrong("correctness", "accepts a false premise");
  return finalMismatch(item, answer.final);
}

// ---- math ----

function checkArith(world: World, item: WorldItem, spec: ItemSpec & { kind: "arith" }, answer: Answer): Verdict {
  const text = [...answer.steps, answer.final ?? ""].join("\n");
  const invented = unknownNames(text, (w) => world.names.has(w));
  if (invented.length > 0)
    return wrong("hallucination", `names that do not exist in the world: ${invented.join(", ")}`);
  const start = answer.steps.map(parseStart).find((s) => s !== undefined);
  if (start && !world.goods.includes(start.good))
    return wrong("hallucination", `"${start.good}" does not exist in the world`);
  if (start) {
    if (start.person !== spec.person)
      return wrong("correctness", `the problem is about ${spec.person}, not ${start.person}`);
    if (start.good !== spec.good) return wrong("correctness", `the problem counts ${spec.good}, not ${start.good}`);
    if (start.n !== spec.start) return wrong("correctness", `the start is ${spec.start}, not ${start.n}`);
  }
  const steps = answer.steps.map(parseArith).filter((s) => s !== undefined);
  for (const [i, step] of steps.entries()) {
    const gold = spec.ops[i];
    if (i === 0 && step.a !== spec.start)
      return wrong("correctness", `step 1 starts from ${step.a}, not ${spec.start}`);
    if (i > 0 && step.a !== steps[i - 1]!.c)
      return wrong("logic", `step ${i + 1} does not continue from the previous result ${steps[i - 1]!.c}`);
    if (!gold) return wrong("logic", `step ${i + 1} is an operation the problem does not have`);
    if (step.op !== gold.op || step.b !== gold.b) {
      if (spec.ops.some((g, j) => j !== i && g.op === step.op && g.b === step.b)) {
        return wrong("logic", `step ${i + 1} applies the problem's operations out of order`);
      }
      if (step.op !== gold.op)
        return wrong("correctness", `step ${i + 1} uses ${step.op} where the problem needs ${gold.op}`);
      return wrong("correctness", `step ${i + 1} uses ${step.b} where the problem says ${gold.b}`);
    }
    if (applyOp(step.a, step.op, step.b) !== step.c)
      return wrong("correctness", `miscalculation: ${step.a} ${step.op} ${step.b} is not ${step.c}`);
  }
  if (answer.final === undefined) return wrong(null, "no final answer");
  if (steps.length > 0 && steps.length < spec.ops.length)
    return wrong("logic", `skips a step: ${steps.length} of ${spec.ops.length} operations`);
  const last = steps.at(-1);
  if (last && answer.final !== String(last.c))
    return wrong("logic", `final answer ${answer.final} contradicts the last step's ${last.c}`);
  return finalMismatch(item, answer.final);
}

// ---- reasoning ----

function checkOrder(item: WorldItem, spec: ItemSpec & { kind: "order" }, answer: Answer): Verdict {
  const rank = new Map(spec.order.map((name, i) => [name, i]));
  const text = [...answer.steps, answer.final ?? ""].join("\n");
  const invented = unknownNames(text, (w) => rank.has(w));
  if (invented.length > 0) return wrong("hallucination", `names that are not in the puzzle: ${invented.join(", ")}`);
  const comparisons = answer.steps.map(parseComparison).filter((c) => c !== undefined);
  for (const c of comparisons) {
    if (c.scale !== spec.scale || rank.get(c.x)! > rank.get(c.y)!)
      return wrong("correctness", `false statement: ${c.x} is not ${c.scale}er than ${c.y}`);
  }
  for (let i = 1; i < comparisons.length; i++) {
    if (comparisons[i]!.x !== comparisons[i - 1]!.y)
      return wrong("logic", `step ${i + 1} does not continue the chain from ${comparisons[i - 1]!.y}`);
  }
  const chain = comparisons.length > 0 ? [comparisons[0]!.x, ...comparisons.map((c) => c.y)] : undefined;
  const orderLine = answer.steps.map(parseOrderLine).find((o) => o !== undefined);
  if (orderLine && chain && orderLine.join(",") !== chain.join(","))
    return wrong("logic", `the order ${orderLine.join(", ")} does not follow from the steps`);
  if (answer.final === undefined) return wrong(null, "no final answer");
  const derived = orderLine ?? chain;
  const implied = derived && derived.length === spec.order.length ? derived[spec.position] : undefined;
  if (implied !== undefined && answer.final !== implied)
    return wrong("logic", `final answer ${answer.final} contradicts the order, which gives ${implied}`);
  return finalMismatch(item, answer.final);
}

function checkSyllogism(item: WorldItem, spec: ItemSpec & { kind: "syllogism" }, answer: Answer): Verdict {
  const { chain, excluded, distractor } = spec;
  const inPuzzle = new Set([...chain, ...(excluded ? [excluded] : []), ...(distractor ?? [])]);
  const lines = answer.steps.map(parseCategorical).filter((l) => l !== undefined);
  for (const line of lines) {
    for (const word of [line.x, line.y])
      if (!inPuzzle.has(word)) return wrong("hallucination", `"${word}" is not in the puzzle`);
  }
  const at = (c: string) => chain.indexOf(c);
  const everyHolds = (x: string, y: string): boolean => {
    if (at(x) >= 0 && at(y) >= 0) return at(x) < at(y);
    if (distractor && x === distractor[0]) return y === distractor[1] || at(y) > at(distractor[1]);
    return false;
  };
  const underLast = (c: string) => at(c) >= 0 || (distractor !== null && c === distractor[0]);
  const noneHolds = (x: string, y: string) =>
    excluded !== null && ((y === excluded && underLast(x)) || (x === excluded && underLast(y)));
  const premises = lines.filter((l) => !l.conclusion);
  for (const p of premises) {
    const holds = p.quantifier === "every" ? everyHolds(p.x, p.y) : noneHolds(p.x, p.y);
    if (!holds) return wrong("correctness", `false statement: ${p.quantifier} ${p.x} is a ${p.y}`);
  }
  const everies = premises.filter((p) => p.quantifier === "every");
  for (let i = 1; i < everies.length; i++) {
    if (everies[i]!.x !== everies[i - 1]!.y)
      return wrong("logic", `"every ${everies[i]!.x}" does not continue the chain from ${everies[i - 1]!.y}`);
  }
  const none = premises.find((p) => p.quantifier === "no");
  if (none && everies.length > 0 && none.x !== everies.at(-1)!.y)
    return wrong("logic", `"no ${none.x}" does not continue the chain from ${everies.at(-1)!.y}`);
  const conclusion = lines.filter((l) => l.conclusion).at(-1);
  let implied: string | undefined;
  if (conclusion) {
    const from = everies[0]?.x ?? none?.x;
    const follows =
      conclusion.quantifier === "every"
        ? everies.length > 0 && conclusion.x === from && conclusion.y === everies.at(-1)!.y
        : none !== undefined && conclusion.x === from && conclusion.y === none.y;
    if (!follows)
      return wrong(
        "logic",
        `the conclusion "${conclusion.quantifier} ${conclusion.x} is a ${conclusion.y}" does not follow from the steps`,
      );
    const q = spec.question;
    if ("every" in q) {
      const [x, y] = q.every;
      if (conclusion.quantifier === "every" && conclusion.x === x && conclusion.y === y) implied = "yes";
      else if (conclusion.quantifier === "every" && conclusion.x === y && conclusion.y === x) implied = "unknown";
    } else if (conclusion.quantifier === "no" && conclusion.x === q.can[0] && conclusion.y === q.can[1]) implied = "no";
    if (implied === undefined) return wrong("logic", "the conclusion does not answer the question");
  }
  if (answer.final === undefined) return wrong(null, "no final answer");
  if (!["yes", "no", "unknown"].includes(answer.final))
    return wrong(null, `final answer "${answer.final}" is not yes, no or unknown`);
  if (implied !== undefined && answer.final !== implied)
    return wrong("logic", `final answer ${answer.final} contradicts the conclusion, which gives ${implied}`);
  return finalMismatch(item, answer.final);
}

// ---- code ----

function checkProgram(item: WorldItem, spec: ItemSpec & { kind: "program" }, answer: Answer): Verdict {
  const lines = answer.steps.map(parseTrace).filter((l) => l !== undefined);
  for (const line of lines)
    if (!spec.vars.includes(line.target))
      return wrong("hallucination", `variable ${line.target} is not in the program`);
  const executed: Assign[] = spec.statements.flatMap((s) =>
    "repeat" in s ? Array.from({ length: s.repeat }, () => s.body).flat() : [s],
  );
  const state = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    const src = executed[i];
    const n = i + 1;
    if (!src) return wrong("logic", `line ${n} runs a statement the program does not have`);
    if (line.target !== src.target)
      return wrong("logic", `line ${n} assigns ${line.target}, but the program assigns ${src.target}`);
    const operands: Array<[Assign["left"], number]> = [];
    if (src.op && src.right) {
      if (!line.expr) return wrong("correctness", `line ${n} skips the computation of ${src.target}`);
      if (line.expr.op !== src.op)
        return wrong("correctness", `line ${n} uses ${line.expr.op} where the program has ${src.op}`);
      operands.push([src.left, line.expr.left], [src.right, line.expr.right]);
    } else {
      operands.push([src.left, line.value]);
    }
    for (const [operand, used] of operands) {
      if ("lit" in operand && used !== operand.lit)
        return wrong("correctness", `line ${n} reads ${used} where the program has ${operand.lit}`);
      if ("var" in operand && used !== state.get(operand.var)) {
        return wrong(
          "logic",
          `line ${n} uses ${used} for ${operand.var}, which holds ${state.get(operand.var) ?? "nothing"} at that point`,
        );
      }
    }
    if (line.expr && applyOp(line.expr.left, line.expr.op, line.expr.right) !== line.value) {
      return wrong(
        "correctness",
        `miscalculation: ${line.expr.left} ${line.expr.op} ${line.expr.right} is not ${line.value}`,
      );
    }
    state.set(line.target, line.value);
  }
  if (answer.final === undefined) return wrong(null, "no final answer");
  if (lines.length > 0 && lines.length < executed.length)
    return wrong("logic", `the trace stops after ${lines.length} of ${executed.length} steps`);
  const printed = state.get(spec.print);
  if (printed !== undefined && answer.final !== String(printed)) {
    return wrong("logic", `final answer ${answer.final} is not the value of ${spec.print} (${printed}) in the trace`);
  }
  return finalMismatch(item, answer.final);
}

// ---- the Classifier adapter ----

/**
 * The world's checker as a `seapo analyze` judge. Rows are matched to items by id, then by prompt;
 * `items` defaults to the world's default task set. A row matching no item is judged by its final
 * answer against the reference's, with no error type.
 */
export function worldClassifier(world: World, items: Iterable<WorldItem> = allItems(generateTasks(world))): Classifier {
  const byId = new Map<string, WorldItem>();
  const byPrompt = new Map<string, WorldItem>();
  for (const item of items) {
    byId.set(item.id, item);
    byPrompt.set(item.prompt, item);
  }
  return async (row: AnswerRow): Promise<Judgment> => {
    const item = byId.get(row.id) ?? byPrompt.get(row.prompt);
    if (!item) {
      const same = splitAnswer(row.response).final === splitAnswer(row.reference).final;
      return { correct: same, errorType: null, explanation: "not an item of this world; compared final answers only" };
    }
    const verdict = checkAnswer(world, item, row.response);
    return { correct: verdict.correct, errorType: verdict.errorType, explanation: verdict.detail };
  };
}

// ---- multiple choice ----

/**
 * TruthfulQA-style scores of a multiple-choice item from the model's log-likelihood of each of
 * `item.choices` (same order). MC1 takes the first true answer against all false ones; MC2 is the
 * normalised probability mass of the true answers.
 */
export function mcScores(item: WorldItem, logliks: readonly number[]): { mc1: number; mc2: number } {
  const { choices, labels } = item;
  if (!choices || !labels) throw new Error(`mcScores: item ${item.id} is not multiple choice`);
  if (logliks.length !== choices.length)
    throw new Error(`mcScores: ${logliks.length} log-likelihoods for ${choices.length} choices`);
  const mc1 = truthfulqaMc1([logliks[0]!, ...logliks.filter((_, i) => labels[i] === 0)]);
  return { mc1, mc2: truthfulqaMc2(logliks, labels) };
}
