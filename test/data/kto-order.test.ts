import { describe, expect, it } from "vitest";
import { countWindowConflicts, spreadByPrompt } from "../../src/data/index.js";

interface Row {
  prompt: string;
  id: number;
}

/** `sizes[i]` rows for prompt i, written as the data engine used to: each prompt's rows together. */
function grouped(sizes: number[]): Row[] {
  let id = 0;
  return sizes.flatMap((size, p) => Array.from({ length: size }, () => ({ prompt: `p${p}`, id: id++ })));
}

const promptOf = (row: Row) => row.prompt;

describe("spreadByPrompt", () => {
  it("keeps every row exactly once", () => {
    const rows = grouped([4, 3, 1, 2, 4, 4, 1]);
    const { rows: out } = spreadByPrompt(rows, promptOf, { window: 3, seed: 1 });
    expect(out.map((r) => r.id).sort((a, b) => a - b)).toEqual(rows.map((r) => r.id));
  });

  it("leaves no prompt twice in any window when that is possible", () => {
    const sizes = Array.from({ length: 200 }, (_, i) => 1 + ((i * 7) % 4));
    const rows = grouped(sizes);
    // Written together, every row after a prompt's first conflicts: 500 rows of 200 prompts.
    expect(countWindowConflicts(rows, promptOf, 8)).toBe(300);
    const spread = spreadByPrompt(rows, promptOf, { window: 8, seed: 3 });
    expect(spread.conflicts).toBe(0);
    expect(countWindowConflicts(spread.rows, promptOf, 8)).toBe(0);
  });

  it("counts the conflicts it cannot avoid", () => {
    // Prompt 0 has 5 rows among 7: with a window of 3 some must come closer than 3 apart.
    const spread = spreadByPrompt(grouped([5, 1, 1]), promptOf, { window: 3, seed: 0 });
    expect(spread.conflicts).toBe(countWindowConflicts(spread.rows, promptOf, 3));
    // Two other rows allow one gap of 3 between rows of prompt 0 (0 x y 0 0 0 0): the other 3 conflict.
    expect(spread.conflicts).toBe(3);
  });

  it("is a function of the seed", () => {
    const rows = grouped(Array.from({ length: 50 }, () => 4));
    const a = spreadByPrompt(rows, promptOf, { window: 4, seed: 9 }).rows.map((r) => r.id);
    const b = spreadByPrompt(rows, promptOf, { window: 4, seed: 9 }).rows.map((r) => r.id);
    const c = spreadByPrompt(rows, promptOf, { window: 4, seed: 10 }).rows.map((r) => r.id);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});
