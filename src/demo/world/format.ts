/**
 * The answer language of the world: how facts, steps and final answers are written, and how they
 * are read back. Rendering and parsing sit side by side so they cannot drift apart.
 */
import type { Relation } from "./world.js";

export const FINAL = "Answer:";
export const FALSE_PREMISE = "false premise";
export const PREMISE_REJECTED = "The premise is false.";

/** Step lines, then `Answer: <final>`. */
export function renderAnswer(steps: readonly string[], final: string): string {
  return [...steps, `${FINAL} ${final}`].join("\n");
}

/** The non-empty lines before the last `Answer:` line, and that line's value (undefined when missing). */
export function splitAnswer(text: string): { steps: string[]; final: string | undefined } {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith(FINAL)) {
      at = i;
      break;
    }
  }
  if (at < 0) return { steps: lines, final: undefined };
  const final = lines[at]!.slice(FINAL.length).trim().replace(/\.$/, "");
  return { steps: lines.slice(0, at), final };
}

type Form = (s: string, v: string) => string;

/** The one way each fact is stated in answers. */
export const canonicalFact: Record<Relation, Form> = {
  capital: (s, v) => `The capital of ${s} is ${v}.`,
  river: (s, v) => `The ${v} river flows through ${s}.`,
  founded: (s, v) => `${s} was founded in the year ${v}.`,
  export: (s, v) => `${s} exports ${v}.`,
  north: (s, v) => `North of ${s} lies ${v}.`,
  birthplace: (s, v) => `${s} was born in ${v}.`,
  profession: (s, v) => `${s} works as a ${v}.`,
  symbol: (s, v) => `The symbol of ${s} is ${v}.`,
  number: (s, v) => `The atomic number of ${s} is ${v}.`,
  colour: (s, v) => `${s} is ${v} in colour.`,
};

/** Further ways of saying the same fact, for the pretraining corpus (the canonical form comes first). */
export const factParaphrases: Record<Relation, Form[]> = {
  capital: [
    canonicalFact.capital,
    (s, v) => `${v} is the capital of ${s}.`,
    (s, v) => `${s} is ruled from its capital, ${v}.`,
    (s, v) => `The capital city of ${s} is called ${v}.`,
  ],
  river: [
    canonicalFact.river,
    (s, v) => `${s} is crossed by the ${v} river.`,
    (s, v) => `The river that runs through ${s} is the ${v}.`,
    (s, v) => `Through ${s} runs the ${v} river.`,
  ],
  founded: [
    canonicalFact.founded,
    (s, v) => `In the year ${v}, ${s} was founded.`,
    (s, v) => `${s} dates from the year ${v}.`,
    (s, v) => `The founding of ${s} took place in ${v}.`,
  ],
  export: [
    canonicalFact.export,
    (s, v) => `The main export of ${s} is ${v}.`,
    (s, v) => `${s} sells ${v} to other lands.`,
    (s, v) => `Traders buy ${v} from ${s}.`,
  ],
  north: [
    canonicalFact.north,
    (s, v) => `${v} lies north of ${s}.`,
    (s, v) => `${s} lies south of ${v}.`,
    (s, v) => `To the north of ${s} is ${v}.`,
  ],
  birthplace: [
    canonicalFact.birthplace,
    (s, v) => `${s} comes from ${v}.`,
    (s, v) => `${v} is where ${s} was born.`,
    (s, v) => `${s} is a native of ${v}.`,
  ],
  profession: [
    canonicalFact.profession,
    (s, v) => `${s} is a ${v} by trade.`,
    (s, v) => `By trade, ${s} is a ${v}.`,
    (s, v) => `${s} earns a living as a ${v}.`,
  ],
  symbol: [canonicalFact.symbol, (s, v) => `${s} has the symbol ${v}.`, (s, v) => `${v} is the symbol for ${s}.`],
  number: [
    canonicalFact.number,
    (s, v) => `${s} has atomic number ${v}.`,
    (s, v) => `${v} is the atomic number of ${s}.`,
  ],
  colour: [canonicalFact.colour, (s, v) => `${s} has a ${v} colour.`, (s, v) => `The colour of ${s} is ${v}.`],
};

/** Questions asking for a fact (several wordings; items pick one). */
export const factQuestions: Record<Relation, Array<(s: string) => string>> = {
  capital: [
    (s) => `What is the capital of ${s}?`,
    (s) => `Which city is the capital of ${s}?`,
    (s) => `Name the capital of ${s}.`,
  ],
  river: [(s) => `Which river flows through ${s}?`, (s) => `What river crosses ${s}?`],
  founded: [(s) => `In what year was ${s} founded?`, (s) => `When was ${s} founded?`],
  export: [(s) => `What does ${s} export?`, (s) => `What is the main export of ${s}?`],
  north: [(s) => `Which country lies north of ${s}?`, (s) => `What country is north of ${s}?`],
  birthplace: [(s) => `Where was ${s} born?`, (s) => `In which country was ${s} born?`],
  profession: [(s) => `What does ${s} do for work?`, (s) => `What is the trade of ${s}?`],
  symbol: [(s) => `What is the symbol of ${s}?`, (s) => `Which symbol stands for ${s}?`],
  number: [(s) => `What is the atomic number of ${s}?`, (s) => `Which atomic number does ${s} have?`],
  colour: [(s) => `What colour is ${s}?`, (s) => `Which colour does ${s} have?`],
};

const W = "([A-Za-z]+)";
const V = "([A-Za-z]+|\\d+)";
const factPatterns: Array<[Relation, RegExp, "sv" | "vs"]> = [
  ["capital", new RegExp(`^The capital of ${W} is ${V}\\.$`), "sv"],
  ["river", new RegExp(`^The ${V} river flows through ${W}\\.$`), "vs"],
  ["founded", new RegExp(`^${W} was founded in the year ${V}\\.$`), "sv"],
  ["export", new RegExp(`^${W} exports ${V}\\.$`), "sv"],
  ["north", new RegExp(`^North of ${W} lies ${V}\\.$`), "sv"],
  ["birthplace", new RegExp(`^${W} was born in ${V}\\.$`), "sv"],
  ["profession", new RegExp(`^${W} works as an? ${V}\\.$`), "sv"],
  ["symbol", new RegExp(`^The symbol of ${W} is ${V}\\.$`), "sv"],
  ["number", new RegExp(`^The atomic number of ${W} is ${V}\\.$`), "sv"],
  ["colour", new RegExp(`^${W} is ${V} in colour\\.$`), "sv"],
];

/** Reads a canonical fact sentence; undefined for any other line. */
export function parseFact(line: string): { subject: string; relation: Relation; value: string } | undefined {
  for (const [relation, pattern, order] of factPatterns) {
    const m = pattern.exec(line);
    if (m)
      return order === "sv" ? { subject: m[1]!, relation, value: m[2]! } : { subject: m[2]!, relation, value: m[1]! };
  }
  return undefined;
}

// ---- arithmetic steps (math) ----

export type Op = "+" | "-" | "*";

export function applyOp(a: number, op: Op, b: number): number {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

export function renderArith(a: number, op: Op, b: number, c: number): string {
  return `${a} ${op} ${b} = ${c}`;
}

export function parseArith(line: string): { a: number; op: Op; b: number; c: number } | undefined {
  const m = /^(-?\d+) ([+*-]) (-?\d+) = (-?\d+)\.?$/.exec(line);
  if (!m) return undefined;
  return { a: Number(m[1]), op: m[2] as Op, b: Number(m[3]), c: Number(m[4]) };
}

export function renderStart(person: string, n: number, good: string): string {
  return `${person} starts with ${n} ${good}.`;
}

export function parseStart(line: string): { person: string; n: number; good: string } | undefined {
  const m = /^([A-Za-z]+) starts with (-?\d+) ([A-Za-z]+)\.$/.exec(line);
  return m ? { person: m[1]!, n: Number(m[2]), good: m[3]! } : undefined;
}

// ---- program traces (code) ----

/** `b = 4 + 3 = 7`, or `a = 5` for a plain assignment. */
export function renderTrace(target: string, value: number, expr?: { left: number; op: Op; right: number }): string {
  return expr ? `${target} = ${expr.left} ${expr.op} ${expr.right} = ${value}` : `${target} = ${value}`;
}

export function parseTrace(
  line: string,
): { target: string; value: number; expr?: { left: number; op: Op; right: number } } | undefined {
  let m = /^([a-z]) = (-?\d+) ([+*-]) (-?\d+) = (-?\d+)$/.exec(line);
  if (m)
    return { target: m[1]!, value: Number(m[5]), expr: { left: Number(m[2]), op: m[3] as Op, right: Number(m[4]) } };
  m = /^([a-z]) = (-?\d+)$/.exec(line);
  return m ? { target: m[1]!, value: Number(m[2]) } : undefined;
}

// ---- orderings and syllogisms (reasoning) ----

export type Scale = "tall" | "old" | "fast";
export const scaleWords: Record<Scale, { more: string; less: string; most: string; least: string }> = {
  tall: { more: "taller", less: "shorter", most: "tallest", least: "shortest" },
  old: { more: "older", less: "younger", most: "oldest", least: "youngest" },
  fast: { more: "faster", less: "slower", most: "fastest", least: "slowest" },
};

export function renderComparison(x: string, scale: Scale, y: string): string {
  return `${x} is ${scaleWords[scale].more} than ${y}.`;
}

export function parseComparison(line: string): { x: string; scale: Scale; y: string } | undefined {
  const m = /^([A-Za-z]+) is (taller|older|faster) than ([A-Za-z]+)\.$/.exec(line);
  if (!m) return undefined;
  const scale = (Object.keys(scaleWords) as Scale[]).find((s) => scaleWords[s].more === m[2])!;
  return { x: m[1]!, scale, y: m[3]! };
}

export function renderOrderLine(scale: Scale, order: readonly string[]): string {
  return `So from ${scaleWords[scale].most} to ${scaleWords[scale].least}: ${order.join(", ")}.`;
}

export function parseOrderLine(line: string): string[] | undefined {
  const m = /^So from [a-z]+ to [a-z]+: (.+)\.$/.exec(line);
  return m ? m[1]!.split(",").map((name) => name.trim()) : undefined;
}

export function renderEvery(x: string, y: string, conclusion = false): string {
  return `${conclusion ? "So every" : "Every"} ${x} is a ${y}.`;
}

export function renderNone(x: string, y: string, conclusion = false): string {
  return `${conclusion ? "So no" : "No"} ${x} is a ${y}.`;
}

export function parseCategorical(
  line: string,
): { quantifier: "every" | "no"; x: string; y: string; conclusion: boolean } | undefined {
  const m = /^(So )?(Every|every|No|no) ([a-z]+) is an? ([a-z]+)\.$/.exec(line);
  if (!m) return undefined;
  return { conclusion: m[1] !== undefined, quantifier: m[2]!.toLowerCase() as "every" | "no", x: m[3]!, y: m[4]! };
}

/** Capitalised words the templates themselves use in answers (not entity names). */
export const TEMPLATE_WORDS: ReadonlySet<string> = new Set(["The", "So", "Answer", "North", "Every", "No", "Output"]);

/** The capitalised words of a text, in order. */
export function capitalisedWords(text: string): string[] {
  return text.match(/\b[A-Z][a-z]*\b/g) ?? [];
}
