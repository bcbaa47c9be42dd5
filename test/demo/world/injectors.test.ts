import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/engine/random.js";
import { checkAnswer, worldErrorTypes } from "../../../src/demo/world/checker.js";
import { injectError } from "../../../src/demo/world/injectors.js";
import { dimensions } from "../../../src/demo/world/tasks/index.js";
import { tasks, world } from "./fixture.js";

const cells = dimensions.flatMap((d) => worldErrorTypes.map((t) => [d, t] as const));

describe("injectError", () => {
  // The key cross-check: the injector's intended type is what the independent checker finds.
  it.each(cells)("%s / %s: every negative is wrong, ≥ 90% of the intended type", (dimension, type) => {
    const rng = new Rng(17);
    const items = [...tasks[dimension].test, ...tasks[dimension].train.slice(0, 100)];
    let made = 0;
    let asIntended = 0;
    for (const item of items) {
      const negative = injectError(world, item, item.answer, type, rng);
      if (negative === undefined) continue;
      made++;
      const verdict = checkAnswer(world, item, negative);
      expect(verdict.correct, `${item.id}\n${negative}`).toBe(false);
      if (verdict.errorType === type) asIntended++;
    }
    expect(made / items.length).toBeGreaterThan(0.95);
    expect(asIntended / made).toBeGreaterThanOrEqual(0.9);
  });

  it("keeps negatives close to the positive in length", () => {
    const rng = new Rng(3);
    const ratios = tasks.math.test.flatMap((item) => {
      const negative = injectError(world, item, item.answer, "correctness", rng);
      return negative ? [negative.length / item.answer.length] : [];
    });
    expect(Math.min(...ratios)).toBeGreaterThan(0.8);
    expect(Math.max(...ratios)).toBeLessThan(1.25);
  });

  it("refuses to inject into an answer that is already wrong", () => {
    const item = tasks.math.test[0]!;
    expect(injectError(world, item, `Answer: ${Number(item.final) + 1}`, "logic", new Rng(1))).toBeUndefined();
  });

  it("is reproducible from the generator's seed", () => {
    const item = tasks.code.test[0]!;
    const a = injectError(world, item, item.answer, "logic", new Rng(9));
    const b = injectError(world, item, item.answer, "logic", new Rng(9));
    expect(a).toBe(b);
  });

  it("makes digit slips the usual correctness error in math", () => {
    const rng = new Rng(4);
    let slips = 0;
    for (const item of tasks.math.test) {
      const negative = injectError(world, item, item.answer, "correctness", rng)!;
      const verdict = checkAnswer(world, item, negative);
      if (/miscalculation|uses \d+ where/.test(verdict.detail)) slips++;
    }
    expect(slips / tasks.math.test.length).toBeGreaterThan(0.9);
  });
});
