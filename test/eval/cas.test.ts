import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { casEquivalent } from "../../src/eval/cas.js";
import { scoreMath } from "../../src/eval/tasks/math.js";

const read = <T>(name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8")) as T;

interface Pair {
  id: string;
  kind: "same" | "rewritten" | "perturbed";
  answer: string;
  gold: string;
  sympy: boolean;
}

describe("casEquivalent", () => {
  it.each([
    ["\\frac{1}{2}", "0.5", true],
    ["\\dfrac{3}{4}", "3/4", true],
    ["2\\sqrt{3}", "\\sqrt{12}", true],
    ["x^2+1", "1+x^2", true],
    ["10", "10.0", true],
    ["p-q", "q-p", false],
    ["\\pi", "3.14159", false],
    ["\\frac{2}{3}", "\\frac{3}{2}", false],
    // does not parse: not equivalent, not even to itself (as the harness's is_equiv)
    ["\\le(3,\\frac{\\pi}{2}\\right)", "\\le(3,\\frac{\\pi}{2}\\right)", false],
  ])("%s ≡ %s: %s", (a, b, expected) => expect(casEquivalent(a, b)).toBe(expected));
});

describe("minerva_math500 equiv_match", () => {
  it("counts an equivalent final answer that exact_match's string comparison misses", () => {
    const half = scoreMath("So 1/2.\nFinal Answer: The final answer is $0.5$. I hope it is correct.", "\\frac{1}{2}");
    expect(half.metrics).toEqual({ exact_match: 0, equiv_match: 1, boxed_match: 1 });
    const wrong = scoreMath("Final Answer: The final answer is $\\frac{3}{2}$. I hope it is correct.", "\\frac{2}{3}");
    expect(wrong.metrics).toEqual({ exact_match: 0, equiv_match: 0, boxed_match: 0 });
    // no "Final Answer" sentence: nothing to compare, even where the text holds the right number
    expect(scoreMath("The answer is 5.", "5").metrics).toMatchObject({ exact_match: 0, equiv_match: 0 });
  });
});

describe("agreement with the harness's sympy verdicts", () => {
  const { pairs } = read<{ pairs: Pair[] }>("math-equiv-pairs.json");
  const known = read<{ agreement: number; disagreements: Array<Omit<Pair, "kind" | "id">> }>(
    "math-equiv-disagreements.json",
  );

  it(`agrees on ≥ 97.5% of ${pairs.length} MATH-500 answer pairs, and disagrees only where listed`, () => {
    const disagreements = pairs
      .filter((p) => casEquivalent(p.answer, p.gold) !== p.sympy)
      .map(({ answer, gold, sympy }) => ({ answer, gold, sympy }));
    const agreement = 1 - disagreements.length / pairs.length;
    expect(agreement).toBeGreaterThanOrEqual(0.975);
    expect(agreement).toBeCloseTo(known.agreement, 4);
    expect(disagreements).toEqual(known.disagreements);
  }, 30_000);
});
