import { describe, expect, it } from "vitest";
import {
  argmaxFirst,
  logSumExp,
  meanStderr,
  multipleChoice,
  passAtK,
  pooledStderr,
  truthfulqaMc1,
  truthfulqaMc2,
} from "../../src/eval/metrics.js";

describe("logSumExp", () => {
  it.each([
    [[0, 0], Math.LN2],
    [[1000, 1000], 1000 + Math.LN2],
    [[-1000, -1000], -1000 + Math.LN2],
    [[-Infinity, -Infinity], -Infinity],
    [[], -Infinity],
  ])("logSumExp(%j) = %d", (xs, expected) => {
    expect(logSumExp(xs)).toBeCloseTo(expected, 12);
  });
});

describe("ties go to the first choice", () => {
  it.each([
    [[-1, -1, -2], 0],
    [[-3, -1, -1], 1],
    [[-2], 0],
  ])("argmax(%j) = %d", (xs, expected) => expect(argmaxFirst(xs)).toBe(expected));

  it("a tie between the gold answer (first) and another counts as correct for MC1", () => {
    expect(truthfulqaMc1([-0.5, -0.5])).toBe(1);
    expect(truthfulqaMc1([-1, -0.5])).toBe(0);
  });

  it("a tie where the gold answer is second counts as wrong", () => {
    expect(multipleChoice([-2, -2], ["x", "y"], 1)).toEqual({ acc: 0, acc_norm: 0 });
  });
});

describe("acc and acc_norm", () => {
  it("acc_norm divides by the choice's length in characters", () => {
    // acc: -4 is largest → index 0. acc_norm: -4/2 = -2, -6/6 = -1, -5/4 = -1.25 → index 1.
    expect(multipleChoice([-4, -6, -5], ["ab", "abcdef", "abcd"], 1)).toEqual({ acc: 0, acc_norm: 1 });
  });

  it("counts characters as Python does (an emoji is one character, not two UTF-16 units)", () => {
    // -2/1 = -2 and -3/2 = -1.5 → index 1; with UTF-16 length the first would be -2/2 = -1 and win.
    expect(multipleChoice([-2, -3], ["😀", "ab"], 1).acc_norm).toBe(1);
  });
});

describe("TruthfulQA MC2", () => {
  it("is the normalised probability mass of the true answers", () => {
    const lls = [0.2, 0.3, 0.1, 0.4].map(Math.log);
    expect(truthfulqaMc2(lls, [1, 1, 0, 0])).toBeCloseTo(0.5, 12);
  });

  it("sums several true answers", () => {
    const lls = [1, 2, 3, 4].map(Math.log);
    expect(truthfulqaMc2(lls, [1, 1, 1, 0])).toBeCloseTo(6 / 10, 12);
  });

  it("stays finite for log-likelihoods far below exp's range", () => {
    // exp(-1000) underflows to 0; the ratio is 1 / (1 + e^-1 + 1).
    expect(truthfulqaMc2([-1000, -1001, -1000], [1, 0, 0])).toBeCloseTo(1 / (2 + Math.exp(-1)), 12);
  });

  it("counts every answer labelled 1 as true (harness v3.0, the default)", () => {
    expect(truthfulqaMc2([-1, -1, -1], [1, 0, 1])).toBeCloseTo(2 / 3, 12);
    expect(truthfulqaMc2([-1, -1, -1], [1, 0, 1], "3.0")).toBeCloseTo(2 / 3, 12);
  });

  it("takes only the answers before the first false one as true under harness v2.0", () => {
    expect(truthfulqaMc2([-1, -1, -1], [1, 0, 1], "2.0")).toBeCloseTo(1 / 3, 12);
  });
});

describe("pass@k (unbiased estimator)", () => {
  it.each([
    [20, 0, 10, 0],
    [20, 20, 10, 1],
    [5, 2, 1, 2 / 5],
    // 1 − C(3,2)/C(5,2) = 1 − 3/10
    [5, 2, 2, 0.7],
    // 1 − C(17,10)/C(20,10) = 1 − 19448/184756 = 17/19
    [20, 3, 10, 17 / 19],
    // fewer failures than k: every draw of k holds a pass
    [10, 5, 6, 1],
  ])("n=%d c=%d k=%d → %d", (n, c, k, expected) => {
    expect(passAtK(n, c, k)).toBeCloseTo(expected, 12);
  });

  it("refuses k larger than the number of samples", () => {
    expect(() => passAtK(5, 1, 10)).toThrow(/at least 10 samples/);
  });
});

describe("standard errors", () => {
  it("is the sample standard deviation over sqrt(n)", () => {
    // mean 0.5, sample variance (4 × 0.25) / 3 = 1/3, stderr sqrt(1/3 / 4)
    expect(meanStderr([1, 0, 1, 0])).toBeCloseTo(Math.sqrt(1 / 12), 12);
    expect(meanStderr([1])).toBeNull();
  });

  it("pools subtask stderrs as the harness does for size-weighted groups", () => {
    // Σ (n−1)·n·se² = 3·4·(1/12) + 1·2·0.25 = 1.5; / (6 − 2) = 0.375; / 6 = 0.0625
    expect(pooledStderr([Math.sqrt(1 / 12), 0.5], [4, 2])).toBeCloseTo(0.25, 12);
    // a one-item subtask has no stderr and adds nothing
    expect(pooledStderr([0.5, null], [2, 1])).toBeCloseTo(Math.sqrt((1 * 2 * 0.25) / 1 / 3), 12);
  });
});
