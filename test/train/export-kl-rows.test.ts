/** The KL-row simulations of test/helpers/kl-rows.ts on small orders worked out by hand from TRL's and LLaMA-Factory's rule. */
import { describe, expect, it } from "vitest";
import { llamaFactoryKlPairs, sharedPromptShare, trlKlPairs } from "../helpers/kl-rows.js";

const rows = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("KL rows as TRL and LLaMA-Factory build them", () => {
  it("TRL rotates completions by one inside each per-device batch, a short last batch included", () => {
    expect(trlKlPairs(rows(5), 2)).toEqual([
      { row: 0, partner: 1 },
      { row: 1, partner: 0 },
      { row: 2, partner: 3 },
      { row: 3, partner: 2 },
      { row: 4, partner: 4 },
    ]);
    expect(trlKlPairs(rows(3), 3).map((p) => p.partner)).toEqual([2, 0, 1]);
  });

  it("num_proc cuts contiguous shards first (the first n % k get a row more)", () => {
    // 7 rows, 2 shards: [0,4) and [4,7); batches of 3 inside each.
    expect(trlKlPairs(rows(7), 3, { numProc: 2 }).map((p) => p.partner)).toEqual([2, 0, 1, 3, 6, 4, 5]);
  });

  it("LLaMA-Factory rotates over chunks of preprocessing_batch_size (1000 by default)", () => {
    expect(llamaFactoryKlPairs(rows(4)).map((p) => p.partner)).toEqual([3, 0, 1, 2]);
    expect(llamaFactoryKlPairs(rows(1001))[1000]).toEqual({ row: 1000, partner: 1000 });
    expect(llamaFactoryKlPairs(rows(4), { preprocessingBatchSize: 2 }).map((p) => p.partner)).toEqual([1, 0, 3, 2]);
  });

  it("a prompt's two rows side by side share their KL prompt: all of them at TRL's batch 2", () => {
    const grouped = ["a", "a", "b", "b", "c", "c"];
    const id = (p: string) => p;
    expect(sharedPromptShare(grouped, trlKlPairs(grouped, 2), id)).toBe(1);
    // LLaMA-Factory: rows 1, 3, 5 take their own prompt's other row; row 0 takes the last (c).
    expect(sharedPromptShare(grouped, llamaFactoryKlPairs(grouped), id)).toBe(0.5);
    const spread = ["a", "b", "c", "a", "b", "c"];
    expect(sharedPromptShare(spread, trlKlPairs(spread, 2), id)).toBe(0);
    expect(sharedPromptShare(spread, llamaFactoryKlPairs(spread), id)).toBe(0);
  });
});
