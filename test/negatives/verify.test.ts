import { describe, expect, it } from "vitest";
import {
  defaultVerifyOptions,
  findMetaText,
  normalisedEditDistance,
  stripPreamble,
  verifyNegative,
} from "../../src/negatives/verify.js";

const stop = { unified: "stop" as const, raw: "stop" };
const positive = "Drinking water daily keeps you hydrated: adults need about 2 litres a day.";

describe("verifyNegative", () => {
  it.each([
    ["a one-number change", "Drinking water daily keeps you hydrated: adults need about 9 litres a day.", undefined],
    ["an empty rewrite", "   ", "empty"],
    ["the positive unchanged", positive, "identical"],
    [
      "only case and punctuation changed",
      "drinking water daily keeps you hydrated -- adults need about 2 litres a day",
      "near-identical",
    ],
    ["a preamble-free meta note", `${positive.replace("2", "5")} (Note: the error is the amount.)`, "meta-text"],
    ["a rewrite far too short", "Water.", "length-ratio"],
    ["a rewrite far too long", `${positive} `.repeat(3), "length-ratio"],
  ])("%s", (_name, negative, reason) => {
    const verdict = verifyNegative(positive, negative, stop, { ...defaultVerifyOptions, lengthSlack: 0 });
    if (reason === undefined) expect(verdict).toEqual({ ok: true });
    else expect(verdict).toMatchObject({ ok: false, reason });
  });

  it("rejects a truncated rewrite first, whatever its text", () => {
    expect(verifyNegative(positive, positive.replace("2", "3"), { unified: "length", raw: "length" })).toMatchObject({
      ok: false,
      reason: "truncated",
    });
  });

  it("applies the configured thresholds", () => {
    const negative = positive.replace("2 litres", "3 litres");
    expect(
      verifyNegative(positive, negative, stop, { minEditDistance: 0.1, minLengthRatio: 0.5, maxLengthRatio: 2 }),
    ).toMatchObject({
      reason: "near-identical",
    });
    expect(
      verifyNegative(positive, negative, stop, { minEditDistance: 0, minLengthRatio: 1.01, maxLengthRatio: 2 }),
    ).toMatchObject({
      reason: "length-ratio",
    });
  });
});

describe("the length slack", () => {
  const shortAnswer = "Paris is the capital of France.";
  const oneSentenceMore = `${shortAnswer.replace("Paris", "Lyon")} It has been the seat of government since 1802.`;

  it("lets one added sentence on a short answer pass the ratio bound (the default slack, 48 tokens)", () => {
    expect(oneSentenceMore.length / shortAnswer.length).toBeGreaterThan(2); // the ratio alone rejects it
    expect(defaultVerifyOptions.lengthSlack).toBe(48);
    expect(verifyNegative(shortAnswer, oneSentenceMore, stop)).toEqual({ ok: true });
    expect(
      verifyNegative(shortAnswer, oneSentenceMore, stop, { ...defaultVerifyOptions, lengthSlack: 0 }),
    ).toMatchObject({ ok: false, reason: "length-ratio" });
  });

  it("still rejects a 1,024-token negative for a 200-token positive", () => {
    const longPositive = "The answer is 12 apples. ".repeat(32); // 800 characters: ~200 tokens
    const longNegative = longPositive.replace("12", "13").padEnd(4096, " More filler text here."); // ~1,024 tokens
    const verdict = verifyNegative(longPositive, longNegative, stop);
    expect(verdict).toEqual({
      ok: false,
      reason: "length-ratio",
      detail: "length ratio 5.12 outside [0.5, 2] and ~824 tokens of difference > the slack of 48",
    });
  });

  it("waives the bound up to exactly the slack, on both sides", () => {
    const slack = (lengthSlack: number) => ({ ...defaultVerifyOptions, lengthSlack });
    // 40 → 120 characters: ratio 3, 80 characters ≈ 20 tokens longer.
    expect(verifyNegative("a".repeat(40), "b".repeat(120), stop, slack(20))).toEqual({ ok: true });
    expect(verifyNegative("a".repeat(40), "b".repeat(124), stop, slack(20))).toMatchObject({ reason: "length-ratio" });
    // 200 → 60 characters: ratio 0.3, 140 characters ≈ 35 tokens shorter.
    expect(verifyNegative("a".repeat(200), "b".repeat(60), stop, slack(35))).toEqual({ ok: true });
    expect(verifyNegative("a".repeat(200), "b".repeat(60), stop, slack(34))).toMatchObject({ reason: "length-ratio" });
  });
});

describe("normalisedEditDistance", () => {
  it("is 0 for texts that differ only in case, spacing and punctuation, 1 for nothing in common", () => {
    expect(normalisedEditDistance("Hello, World!", "hello   world")).toBe(0);
    expect(normalisedEditDistance("aaaa", "bbbb")).toBe(1);
    expect(normalisedEditDistance("abcd", "abce")).toBeCloseTo(0.25, 10);
  });
});

describe("meta-text", () => {
  it.each([
    ["Here is the revised response:\nThe sky is green.", "The sky is green."],
    ["Sure! Here's the modified answer with the error:\n\nThe sky is green.", "The sky is green."],
    ["The sky is green.", "The sky is green."],
  ])("strips a leading preamble from %j", (input, expected) => expect(stripPreamble(input)).toBe(expected));

  it.each([
    ["I introduced a subtle error in the second step.", true],
    ["This answer deliberately contains a wrong date.", true],
    ["The total is 12 [error: should be 10].", true],
    ["Note: the calculation above is off.", true],
    ["Rewritten answer: the sky is green.", true],
    ["The standard error of the mean is 0.3.", false],
    ["Mistakes happen; the author corrected them in 1998.", false],
  ])("%j leaks meta-text: %s", (text, leaks) => expect(findMetaText(text) !== undefined).toBe(leaks));
});
