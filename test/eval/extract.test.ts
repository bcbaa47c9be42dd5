import { describe, expect, it } from "vitest";
import {
  bbhExtract,
  GSM8K_COT_STRICT,
  GSM8K_FLEXIBLE,
  GSM8K_STRICT,
  gsm8kExactMatch,
  hendrycksEquiv,
  hendrycksExtract,
  INVALID,
  lastBoxedOnlyString,
  minervaNormalise,
  minervaUnnormalisedAnswer,
  regexFilter,
  removeBoxed,
  truncateAtStop,
} from "../../src/eval/extract.js";

const strictCot = (text: string) => regexFilter(text, GSM8K_COT_STRICT, 0);
const flexible = (text: string) => regexFilter(text, GSM8K_FLEXIBLE, -1);

describe("GSM8K extraction", () => {
  it.each([
    ["So she makes 18 dollars. The answer is 18.", "18", "18."],
    // "$" is not in the strict pattern's class: no strict match; flexible takes "$1,000."
    ["It costs $1,000. The answer is $1,000.", INVALID, "$1,000."],
    ["The answer is 1,000.", "1,000", "1,000."],
    // Python's unescaped "." after the number needs one more character: at the very end the number loses its last digit
    ["The answer is 18", "1", "18"],
    ["The answer is -3.", "-3", "-3."],
    ["I am not sure.", INVALID, INVALID],
  ])("GSM8K case %# → strict %j, flexible %j", (text, strict, flex) => {
    expect(strictCot(text)).toBe(strict);
    expect(flexible(text)).toBe(flex);
  });

  it("reads the #### line in the gsm8k (non-CoT) format", () => {
    expect(regexFilter("48/2 = 24\n#### 72", GSM8K_STRICT, 0)).toBe("72");
    expect(regexFilter("no marker 72", GSM8K_STRICT, 0)).toBe(INVALID);
  });

  it.each([
    // commas, dollar signs, a trailing period and case are ignored
    ["$1,000.", "1000", 1],
    ["1,000", "1000", 1],
    ["18.", "18", 1],
    ["18.0", "18", 0],
    [INVALID, "5", 0],
    // the reference may be a full training answer: everything up to "#### " is dropped
    ["72", "Natalia sold 48/2 = 24 clips.\n#### 72", 1],
  ])("exact-match case %#: %d", (extracted, reference, expected) => {
    expect(gsm8kExactMatch(extracted, reference)).toBe(expected);
  });
});

describe("stop sequences", () => {
  it("cuts at the earliest stop sequence", () => {
    expect(truncateAtStop("The answer is 18.\n\nQ: What is 2+3?\nA: 5", ["Q:", "</s>"])).toBe("The answer is 18.\n\n");
    expect(truncateAtStop("abc</s>Q:", ["Q:", "</s>"])).toBe("abc");
    expect(truncateAtStop("no stop here", ["Q:"])).toBe("no stop here");
  });
});

describe("BBH extraction", () => {
  it.each([
    ["A is True. So the answer is (A).", "(A)"],
    ["So the answer is Yes.\nMore text. So the answer is No.", "Yes"],
    // the harness drops the last character of the line, period or not
    ["so the answer is True", "Tru"],
    // lower-case "the" only
    ["The answer is (B).", INVALID],
    ["no conclusion", INVALID],
  ])("%j → %j", (text, expected) => expect(bbhExtract(text)).toBe(expected));
});

describe("MATH: Minerva final answer", () => {
  it.each([
    ["x = 1/2.\nFinal Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "$\\frac{1}{2}$"],
    // the closing sentence may be missing, as long as ". " follows the answer
    ["Final Answer: The final answer is $7$. ", "$7$"],
    ["Final Answer: The final answer is $7$.", "[invalidanswer]"],
    ["The result is 7.", "[invalidanswer]"],
  ])("%j → %j", (text, expected) => expect(minervaUnnormalisedAnswer(text)).toBe(expected));

  it.each([
    ["$\\frac{1}{2}$", "\\frac{1}{2}"],
    ["$10,000$ dollars", "10000"],
    ["x = 5", "5"],
    ["\\text{(C)}", "(C)"],
    ["$\\boxed{3}$", "3"],
    ["\\frac12", "\\frac{1}{2}"],
    ["\\sqrt2", "\\sqrt{2}"],
    ["90^\\circ", "90"],
    ["1,2", "12"],
    ["(1,2)", "(1,2)"],
  ])("Minerva normalisation case %#", (answer, expected) => expect(minervaNormalise(answer)).toBe(expected));
});

describe("MATH: boxed answers and hendrycks normalisation", () => {
  it("finds the last boxed answer with balanced braces", () => {
    expect(lastBoxedOnlyString("so \\boxed{\\frac{1}{2}} and \\boxed{3}.")).toBe("\\boxed{3}");
    expect(lastBoxedOnlyString("\\boxed{\\frac{1}{2}}")).toBe("\\boxed{\\frac{1}{2}}");
    expect(lastBoxedOnlyString("\\boxed{unclosed")).toBeNull();
    expect(lastBoxedOnlyString("no box")).toBeNull();
    expect(lastBoxedOnlyString("is $\\boxed 5$.")).toBe("\\boxed 5");
    expect(removeBoxed("\\boxed{\\frac{1}{2}}")).toBe("\\frac{1}{2}");
    expect(removeBoxed("\\boxed 5")).toBe("5");
  });

  it("extracts from a generation: boxed, else \\[…\\], else between the outer $, else all", () => {
    expect(hendrycksExtract("so it is \\boxed{4}.")).toBe("4");
    expect(hendrycksExtract("so \\[ x = 4 \\] done")).toBe("x = 4");
    expect(hendrycksExtract("it is $4$ or $5$")).toBe("4$ or $5");
    expect(hendrycksExtract("four")).toBe("four");
  });

  it.each([
    ["0.5", "\\frac{1}{2}", true],
    ["\\dfrac12", "\\frac{1}{2}", true],
    ["1/2", "\\frac{1}{2}", true],
    ["10\\%", "10", true],
    ["\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", true],
    ["k = 7", "7", true],
    ["5", "6", false],
    // a/b with a non-integer: Python's int() raises and the harness compares the raw strings
    ["x/2", "x/2", true],
    ["x/2", "x / 2", false],
  ])("%j ≡ %j: %s", (a, b, expected) => expect(hendrycksEquiv(a, b)).toBe(expected));
});
