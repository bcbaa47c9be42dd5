/**
 * Finding 3 of issue 11: exported KTO rows in an order whose KL rows, built as TRL v1.9.0 and
 * LLaMA-Factory ff6d4d1 build them (test/helpers/kl-rows.ts), pair a prompt with another prompt's
 * answer. The data engine writes a prompt's rows side by side; the export must not.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RECIPE_FILES } from "../../src/train/recipes/index.js";
import { readJsonl } from "../helpers/cli.js";
import { llamaFactoryKlPairs, sharedPromptShare, trlKlPairs } from "../helpers/kl-rows.js";
import { exportFiles, exported, writeLines } from "./export-fixtures.js";

const PROMPTS = 40;
let grouped: string; // kto.jsonl as the data engine writes it: each prompt's rows next to each other
let pairs: string; // dpo.jsonl, split into a desirable and an undesirable row per pair
beforeAll(async () => {
  const { dir } = await exportFiles();
  const ktoRows = Array.from({ length: PROMPTS }, (_, i) => [
    { prompt: `Question ${i}?`, completion: `Right answer ${i}.`, label: true },
    { prompt: `Question ${i}?`, completion: `Wrong answer ${i}.`, label: false },
    { prompt: `Question ${i}?`, completion: `Other wrong answer ${i}.`, label: false },
  ]).flat();
  grouped = writeLines(join(dir, "kto-grouped.jsonl"), ktoRows);
  pairs = writeLines(
    join(dir, "dpo-40.jsonl"),
    Array.from({ length: PROMPTS }, (_, i) => ({ prompt: `Q${i}?`, chosen: `Yes ${i}.`, rejected: `No ${i}.` })),
  );
});

type TrlRow = { prompt: Array<{ content: string }> };
type LlamaFactoryRow = { messages: Array<{ role: string; content: string }> };
const trlPrompt = (row: TrlRow) => JSON.stringify(row.prompt);
const llamaFactoryPrompt = (row: LlamaFactoryRow) => JSON.stringify(row.messages.slice(0, -1));

describe("KTO rows in both exports keep a prompt's rows out of each other's KL rows", () => {
  it("the data engine's grouped order fails the check: most KL rows share their prompt in both engines", () => {
    const rows = readJsonl(grouped) as Array<{ prompt: string }>;
    const prompt = (row: { prompt: string }) => row.prompt;
    expect(sharedPromptShare(rows, trlKlPairs(rows, 2), prompt)).toBe(80 / 120);
    expect(sharedPromptShare(rows, trlKlPairs(rows, 3), prompt)).toBe(1);
    // Each row takes its neighbour's answer: 2 of each prompt's 3 rows, except the very first row.
    expect(sharedPromptShare(rows, llamaFactoryKlPairs(rows), prompt)).toBe(80 / 120);
  });

  it.each([2, 3, 4, 8])("TRL at per-device batch %i: ≤ 1% of KL rows share their prompt", async (batchSize) => {
    for (const data of [grouped, pairs]) {
      const { out } = await exported({ data, loss: "kto", batchSize }, { target: "trl" });
      const rows = readJsonl(join(out, RECIPE_FILES.trlTrain)) as TrlRow[];
      expect(rows).toHaveLength(data === grouped ? 3 * PROMPTS : 2 * PROMPTS);
      expect(sharedPromptShare(rows, trlKlPairs(rows, batchSize), trlPrompt)).toBeLessThanOrEqual(0.01);
    }
  });

  it.each([2, 4])("LLaMA-Factory (batch %i): ≤ 1% of KL rows share their prompt", async (batchSize) => {
    for (const data of [grouped, pairs]) {
      const { out } = await exported({ data, loss: "kto", batchSize }, { target: "llamafactory" });
      const rows = readJsonl(join(out, RECIPE_FILES.dataDir, "seapo_kto.jsonl")) as LlamaFactoryRow[];
      expect(sharedPromptShare(rows, llamaFactoryKlPairs(rows), llamaFactoryPrompt)).toBeLessThanOrEqual(0.01);
      // Smaller map chunks wrap more often (a chunk's first row takes its last row's answer); still within 1%.
      const small = llamaFactoryKlPairs(rows, { preprocessingBatchSize: 7 });
      expect(sharedPromptShare(rows, small, llamaFactoryPrompt)).toBeLessThanOrEqual(0.01);
    }
  });

  it("the eval file is ordered too, and the order is the seed's", async () => {
    const first = await exported({ data: grouped, evalData: grouped, seed: 3 }, { target: "trl" });
    const again = await exported({ data: grouped, evalData: grouped, seed: 3 }, { target: "trl" });
    const other = await exported({ data: grouped, evalData: grouped, seed: 4 }, { target: "trl" });
    const test = readJsonl(join(first.out, RECIPE_FILES.trlTest)) as TrlRow[];
    expect(sharedPromptShare(test, trlKlPairs(test, 2), trlPrompt)).toBe(0);
    expect(first.read(RECIPE_FILES.trlTrain)).toBe(again.read(RECIPE_FILES.trlTrain));
    expect(first.read(RECIPE_FILES.trlTrain)).not.toBe(other.read(RECIPE_FILES.trlTrain));
    expect(first.summary.notes.some((n) => n.includes("could not be kept"))).toBe(false);
    expect(first.read(RECIPE_FILES.readme)).toContain(
      "- The KTO rows are in a seeded order (seed 3) in which no 2 consecutive rows share a prompt",
    );
    const paired = await exported({ data: pairs, loss: "sigmoid" }, { target: "llamafactory" });
    expect(paired.summary.notes.some((n) => n.includes("seeded order"))).toBe(false);
  });

  it("a prompt with too many of the rows is counted in the notes, not hidden", async () => {
    const { dir } = await exportFiles();
    const lopsided = writeLines(join(dir, "kto-lopsided.jsonl"), [
      ...Array.from({ length: 6 }, (_, i) => ({ prompt: "Same?", completion: `Answer ${i}.`, label: i % 2 === 0 })),
      { prompt: "Other?", completion: "Yes.", label: true },
    ]);
    const { summary, read } = await exported({ data: lopsided, batchSize: 2 }, { target: "trl" });
    expect(summary.notes).toContain(
      "4 KTO row(s) could not be kept 2 rows away from another row of their prompt (one prompt holds too many of the rows); their KL rows may pair a prompt with its own answer.",
    );
    expect(read(RECIPE_FILES.readme)).toContain("4 KTO row(s) could not be kept");
  });
});
