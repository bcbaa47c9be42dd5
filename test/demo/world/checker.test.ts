import { describe, expect, it } from "vitest";
import { checkAnswer, worldClassifier, type WorldErrorType } from "../../../src/demo/world/checker.js";
import { canonicalFact } from "../../../src/demo/world/format.js";
import type { WorldItem } from "../../../src/demo/world/tasks/index.js";
import { factIndex, type Relation } from "../../../src/demo/world/world.js";
import { tasks, world } from "./fixture.js";

const all = [
  ...tasks.knowledge.test,
  ...tasks.math.test,
  ...tasks.reasoning.test,
  ...tasks.truthfulness.test,
  ...tasks.code.test,
];
const find = (predicate: (item: WorldItem) => boolean) => all.find(predicate)!;

// Wrong answers written by hand (string edits of the gold), with the type the checker must give.
const capitalItem = find((i) => i.spec.kind === "fact" && i.spec.relation === "capital" && !i.choices);
const hopItem = find((i) => i.spec.kind === "hop");
const mathItem = find((i) => i.spec.kind === "arith" && i.spec.ops.length === 2);
const orderItem = find((i) => i.spec.kind === "order" && i.spec.position === 0);
const programItem = find((i) => i.spec.kind === "program");
const falsePremise = find((i) => i.spec.kind === "premise" && i.final === "false premise");
const truePremise = find((i) => i.spec.kind === "premise" && i.final !== "false premise");
const everyItem = find((i) => i.spec.kind === "syllogism" && i.final === "yes");

const otherCapital = (item: WorldItem) => world.countries.find((c) => c.capital !== item.final)!.capital;
const lastLine = (text: string) => text.split("\n").at(-1)!;
const facts = factIndex(world);

/** Two true facts that do not connect: the person's birthplace, then another country's capital. */
function hopLogic(): string {
  const person = (hopItem.spec as { person: string }).person;
  const born = facts.value(person, "birthplace")!;
  const other = world.countries.find((c) => c.name !== born)!;
  return [hopItem.steps[0], `The capital of ${other.name} is ${other.capital}.`, `Answer: ${other.capital}`].join("\n");
}

/** Repeats the (false) premise and answers the question as if it held. */
function acceptsFalsePremise(): string {
  const spec = falsePremise.spec as { subject: string; asked: Relation };
  const value = facts.value(spec.subject, spec.asked)!;
  return [
    falsePremise.prompt.split(/(?<=\.) /)[0],
    canonicalFact[spec.asked](spec.subject, value),
    `Answer: ${value}`,
  ].join("\n");
}
const mathLines = mathItem.answer.split("\n");

const cases: Array<[string, WorldItem, string, WorldErrorType]> = [
  [
    "knowledge: a real but wrong capital",
    capitalItem,
    capitalItem.answer.replaceAll(capitalItem.final, otherCapital(capitalItem)),
    "correctness",
  ],
  [
    "knowledge: an invented capital",
    capitalItem,
    capitalItem.answer.replaceAll(capitalItem.final, "Zuzuzu"),
    "hallucination",
  ],
  [
    "knowledge: final contradicts the step",
    capitalItem,
    capitalItem.answer.replace(lastLine(capitalItem.answer), `Answer: ${otherCapital(capitalItem)}`),
    "logic",
  ],
  [
    "knowledge: an invented export",
    capitalItem,
    `${capitalItem.steps[0]}\nAnswer: ${world.spare.goods[0]}`,
    "hallucination",
  ],
  ["hop: the second hop about another country", hopItem, hopLogic(), "logic"],
  [
    "math: a miscalculated step",
    mathItem,
    [mathLines[0], mathLines[1]!.replace(/= (\d+)$/, (_, c) => `= ${Number(c) + 10}`), ...mathLines.slice(2)].join(
      "\n",
    ),
    "correctness",
  ],
  [
    "math: final contradicts the last step",
    mathItem,
    mathItem.answer.replace(/Answer: (\d+)$/, (_, c) => `Answer: ${Number(c) + 1}`),
    "logic",
  ],
  ["math: an invented person", mathItem, mathItem.answer.replace(/^\w+/, "Zuzuzu"), "hallucination"],
  ["math: only a wrong number", mathItem, `Answer: ${Number(mathItem.final) + 3}`, "correctness"],
  [
    "order: final is not the top of the order",
    orderItem,
    orderItem.answer.replace(/Answer: \w+$/, `Answer: ${(orderItem.spec as { order: string[] }).order[1]}`),
    "logic",
  ],
  [
    "order: a name not in the puzzle",
    orderItem,
    orderItem.answer.replaceAll(orderItem.final, "Zuzuzu"),
    "hallucination",
  ],
  [
    "syllogism: verdict contradicts the conclusion",
    everyItem,
    everyItem.answer.replace(/Answer: yes$/, "Answer: unknown"),
    "logic",
  ],
  [
    "syllogism: a premise quoted backwards",
    everyItem,
    everyItem.answer.replace(/^Every (\w+) is a (\w+)\./, "Every $2 is a $1."),
    "correctness",
  ],
  [
    "code: a miscalculated line",
    programItem,
    programItem.answer.replace(
      /= (\d+) ([+*-]) (\d+) = (\d+)/,
      (_, a, op, b, c) => `= ${a} ${op} ${b} = ${Number(c) + 1}`,
    ),
    "correctness",
  ],
  ["code: a variable not in the program", programItem, programItem.answer.replace(/^[a-z] =/, "w ="), "hallucination"],
  [
    "premise: rejects, then answers anyway",
    falsePremise,
    falsePremise.answer.replace("Answer: false premise", "Answer: 7"),
    "logic",
  ],
  ["premise: accepts a false premise", falsePremise, acceptsFalsePremise(), "correctness"],
  [
    "premise: calls a true premise false",
    truePremise,
    truePremise.answer.replace(/Answer: .*$/, "Answer: false premise"),
    "logic",
  ],
];

describe("checkAnswer", () => {
  it.each(cases)("%s", (_, item, answer, type) => {
    expect(answer).not.toBe(item.answer);
    const verdict = checkAnswer(world, item, answer);
    expect(verdict.correct, verdict.detail).toBe(false);
    expect(verdict.errorType, `${answer}\n${verdict.detail}`).toBe(type);
  });

  it("leaves unreadable answers unclassified", () => {
    const verdict = checkAnswer(world, mathItem, "");
    expect(verdict).toMatchObject({ correct: false, errorType: null });
  });

  it("accepts a bare correct final answer", () => {
    expect(checkAnswer(world, mathItem, `Answer: ${mathItem.final}`).correct).toBe(true);
  });
});

describe("worldClassifier", () => {
  const classify = worldClassifier(world, all);
  it("finds items by id or by prompt and grades them", async () => {
    const byId = await classify({
      id: mathItem.id,
      prompt: "?",
      response: mathItem.answer,
      reference: mathItem.answer,
      line: 1,
    });
    expect(byId).toEqual({ correct: true, errorType: null, explanation: "correct" });
    const byPrompt = await classify({
      id: "x",
      prompt: mathItem.prompt,
      response: `Answer: ${Number(mathItem.final) + 3}`,
      reference: mathItem.answer,
      line: 2,
    });
    expect(byPrompt).toMatchObject({ correct: false, errorType: "correctness" });
  });

  it("compares final answers for rows it does not know", async () => {
    const judgment = await classify({
      id: "nope",
      prompt: "unknown",
      response: "Answer: 3",
      reference: "Answer: 3",
      line: 1,
    });
    expect(judgment).toMatchObject({ correct: true, errorType: null });
  });

  it("defaults to the world's own task set", async () => {
    const fresh = worldClassifier(world);
    const judgment = await fresh({
      id: capitalItem.id,
      prompt: capitalItem.prompt,
      response: capitalItem.answer,
      reference: capitalItem.answer,
      line: 1,
    });
    expect(judgment.correct).toBe(true);
  });
});
