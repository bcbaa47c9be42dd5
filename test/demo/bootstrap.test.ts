import { describe, expect, it } from "vitest";
import { pairedBootstrap, type OutcomeTable } from "../../src/demo/bootstrap.js";

/** n outcomes: `ones` 1s then 0s. */
const bernoulli = (n: number, ones: number) => Array.from({ length: n }, (_, i) => (i < ones ? 1 : 0));
const table = (dims: string[], itemDimension: string[], arms: Record<string, number[][]>): OutcomeTable => ({
  dimensions: dims,
  itemDimension,
  outcomes: new Map(Object.entries(arms)),
});
const options = { replicates: 4000, seed: 1, level: 0.95, differences: [] };
// With 4000 replicates the bootstrap's own standard error is estimated to about 1/sqrt(2·4000) ≈ 1.1%
// relative; 5% leaves room for that at this fixed seed, and is far below any error a wrong formula makes.
const SE_TOLERANCE = 0.05;

describe("pairedBootstrap against closed forms", () => {
  it("a mean of Bernoulli outcomes has bootstrap variance p(1−p)/n and a normal-like 95% interval", () => {
    const n = 400;
    const y = bernoulli(n, 120);
    const result = pairedBootstrap(
      table(
        ["d"],
        y.map(() => "d"),
        { a: [y] },
      ),
      options,
    );
    const a = result.accuracy.a!.perDimension.d!;
    const se = Math.sqrt((0.3 * 0.7) / n);
    expect(a.estimate).toBe(0.3);
    expect(Math.abs(a.se / se - 1)).toBeLessThan(SE_TOLERANCE);
    expect(Math.abs(a.low - (0.3 - 1.96 * se))).toBeLessThan(0.2 * se);
    expect(Math.abs(a.high - (0.3 + 1.96 * se))).toBeLessThan(0.2 * se);
    expect(result.accuracy.a!.average).toEqual(a);
  });

  it("a paired difference has the variance of the per-item differences, not the sum of the two variances", () => {
    // 400 items: 200 both right, 140 both wrong, 40 only A right, 20 only B right.
    const n = 400;
    const a = [...bernoulli(200, 200), ...bernoulli(140, 0), ...bernoulli(40, 40), ...bernoulli(20, 0)];
    const b = [...bernoulli(200, 200), ...bernoulli(140, 0), ...bernoulli(40, 0), ...bernoulli(20, 20)];
    const result = pairedBootstrap(
      table(
        ["d"],
        a.map(() => "d"),
        { a: [a], b: [b] },
      ),
      {
        ...options,
        differences: [{ arm: "a", reference: "b" }],
      },
    );
    const diff = result.differences[0]!.perDimension.d!;
    // Mean difference (40 − 20)/400; plug-in variance of d ∈ {−1, 0, 1}: E[d²] − E[d]² = 60/400 − 0.05².
    const se = Math.sqrt((60 / 400 - 0.05 ** 2) / n);
    expect(diff.estimate).toBeCloseTo(0.05, 12);
    expect(Math.abs(diff.se / se - 1)).toBeLessThan(SE_TOLERANCE);
    // Unpaired, the same two arms would give sqrt(0.6·0.4/n + 0.55·0.45/n) ≈ 0.035, not ≈ 0.019.
    expect(diff.se).toBeLessThan(0.6 * Math.sqrt((0.6 * 0.4 + 0.55 * 0.45) / n));
    expect(diff.low).toBeGreaterThan(0);
  });

  it("the five-dimension average resamples within each dimension: variance Σ p(1−p)/n_d / 25", () => {
    const sizes = [100, 150, 200, 120, 80];
    const ones = [30, 90, 40, 60, 20];
    const dims = sizes.map((_, j) => `d${j}`);
    const itemDimension = sizes.flatMap((n, j) => Array.from({ length: n }, () => dims[j]!));
    const y = sizes.flatMap((n, j) => bernoulli(n, ones[j]!));
    const avg = pairedBootstrap(table(dims, itemDimension, { a: [y] }), options).accuracy.a!.average;
    const p = sizes.map((n, j) => ones[j]! / n);
    const variance = sizes.reduce((s, n, j) => s + (p[j]! * (1 - p[j]!)) / n, 0) / 25;
    expect(avg.estimate).toBeCloseTo(p.reduce((a, b) => a + b, 0) / 5, 12);
    expect(Math.abs(avg.se / Math.sqrt(variance) - 1)).toBeLessThan(SE_TOLERANCE);
  });

  it("resampling seeds and items together matches the two-stage multinomial variance", () => {
    // T = Σ v_s w_i y_si / (S n), v ~ Mult(S, 1/S), w ~ Mult(n, 1/n) independent:
    // Var T = Σ_{s,s',i,i'} y_si y_s'i' (a + b + ab) / (S n)², a = [s = s'] − 1/S, b = [i = i'] − 1/n.
    const S = 3;
    const n = 150;
    const rows = [bernoulli(n, 60), bernoulli(n, 90), bernoulli(n, 30).reverse()];
    let variance = 0;
    for (let s = 0; s < S; s++)
      for (let t = 0; t < S; t++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const a = (s === t ? 1 : 0) - 1 / S;
            const b = (i === j ? 1 : 0) - 1 / n;
            variance += rows[s]![i]! * rows[t]![j]! * (a + b + a * b);
          }
    variance /= (S * n) ** 2;
    const got = pairedBootstrap(
      table(
        ["d"],
        rows[0]!.map(() => "d"),
        { a: rows },
      ),
      options,
    ).accuracy.a!.average;
    expect(got.estimate).toBeCloseTo(180 / 450, 12);
    expect(Math.abs(got.se / Math.sqrt(variance) - 1)).toBeLessThan(SE_TOLERANCE);
  });

  it("is seeded, and refuses rows that do not line up with the items", () => {
    const y = bernoulli(50, 20);
    const t = table(
      ["d"],
      y.map(() => "d"),
      { a: [y], b: [y.slice().reverse()] },
    );
    const run = (seed: number) =>
      pairedBootstrap(t, { ...options, replicates: 200, seed, differences: [{ arm: "a", reference: "b" }] });
    expect(run(3)).toEqual(run(3));
    expect(run(3).differences[0]!.average.se).not.toBe(run(4).differences[0]!.average.se);
    expect(() => pairedBootstrap(table(["d"], ["d", "d"], { a: [[1]] }), options)).toThrow(
      "a has a row of 1 outcomes for 2 items",
    );
  });
});
