import { describe, expect, it } from "vitest";
import { PythonRandom } from "../../src/eval/pyrandom.js";

// Expected values printed by CPython 3.11: `r = random.Random(seed); r.sample(range(n), k)` and r.getrandbits(32).
describe("PythonRandom", () => {
  it("draws the same first 32-bit words as random.Random(1234).getrandbits(32)", () => {
    const r = new PythonRandom(1234);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([4150886329, 3342196574, 1892932127]);
  });

  it("reproduces random.Random(1234).sample(range(7473), 5) twice in a row (the GSM8K train split)", () => {
    const r = new PythonRandom(1234);
    const population = Array.from({ length: 7473 }, (_, i) => i);
    expect(r.sample(population, 5)).toEqual([6374, 3610, 957, 61, 742]);
    expect(r.sample(population, 5)).toEqual([7462, 6610, 4769, 286, 5501]);
  });

  it("uses the pool strategy for small populations, as CPython does", () => {
    const r = new PythonRandom(42);
    expect(r.sample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([1, 0, 4]);
    expect(
      r.sample(
        Array.from({ length: 30 }, (_, i) => i),
        8,
      ),
    ).toEqual([7, 29, 4, 23, 3, 21, 26, 17]);
  });

  it("refuses a sample larger than the population", () => {
    expect(() => new PythonRandom(1).sample([1, 2], 3)).toThrow(/larger than population/);
  });
});
