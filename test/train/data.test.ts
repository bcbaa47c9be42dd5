import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadHfModel, type HfTokenizer } from "../../src/engine/io/index.js";
import { InputError } from "../../src/errors.js";
import { planEpoch, readPreferenceRows, tokenizeRows, type PreferenceRows } from "../../src/train/data.js";
import { tinyHfModel } from "../helpers/tiny-hf-model.js";

async function fileWith(lines: unknown[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "seapo-train-data-"));
  const file = join(dir, "rows.jsonl");
  await writeFile(file, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return file;
}

const good = { prompt: "q", completion: "a", label: true };

describe("readPreferenceRows", () => {
  it("reads kto rows, string and conversational prompts", async () => {
    const file = await fileWith([
      good,
      {
        prompt: [
          { role: "system", content: "s" },
          { role: "user", content: "q" },
        ],
        completion: [{ role: "assistant", content: "b" }],
        label: false,
      },
    ]);
    const { data } = await readPreferenceRows(file);
    expect(data).toEqual({
      kind: "unpaired",
      rows: [
        { line: 1, conversational: false, messages: [{ role: "user", content: "q" }], completion: "a", label: true },
        {
          line: 2,
          conversational: true,
          messages: [
            { role: "system", content: "s" },
            { role: "user", content: "q" },
          ],
          completion: "b",
          label: false,
        },
      ],
    });
  });

  it("reads dpo rows", async () => {
    const { data } = await readPreferenceRows(await fileWith([{ prompt: "q", chosen: "good", rejected: "bad" }]));
    expect(data).toEqual({
      kind: "paired",
      rows: [
        { line: 1, conversational: false, messages: [{ role: "user", content: "q" }], chosen: "good", rejected: "bad" },
      ],
    });
  });

  it.each([
    [{ prompt: "q", label: true }, "completion", "is missing"],
    [{ prompt: "q", completion: "  ", label: true }, "completion", "is empty"],
    [{ prompt: "q", completion: "a", label: "yes" }, "label", "must be true or false"],
    [{ completion: "a", label: true }, "prompt", "must be a string"],
    [{ prompt: "q", completion: "a", label: 1 }, "label", "must be true or false"],
  ])("rejects %j at file:line:field", async (row, field, problem) => {
    const error = await readPreferenceRows(await fileWith([good, row])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect([(error as InputError).line, (error as InputError).field]).toEqual([2, field]);
    expect((error as InputError).problem).toContain(problem);
  });

  it("counts bad rows into rejects with skipInvalid", async () => {
    const file = await fileWith([good, "{not json", { prompt: "q", completion: "", label: true }, good]);
    const { data, rejects } = await readPreferenceRows(file, { skipInvalid: true });
    expect(data.rows).toHaveLength(2);
    expect(rejects.map((r) => [r.line, r.field])).toEqual([
      [2, undefined],
      [3, "completion"],
    ]);
  });
});

describe("tokenizeRows", () => {
  let tokenizer: HfTokenizer;
  beforeAll(async () => {
    tokenizer = (await loadHfModel(await tinyHfModel())).tokenizer;
  });
  const rows = (completion: string, prompt = "What is 2 + 2?", conversational = true): PreferenceRows => ({
    kind: "unpaired",
    rows: [{ line: 1, conversational, messages: [{ role: "user", content: prompt }], completion, label: true }],
  });
  const chat = (answer?: string) =>
    tokenizer.applyChatTemplate(
      [
        { role: "user", content: "What is 2 + 2?" },
        ...(answer === undefined ? [] : [{ role: "assistant", content: answer }]),
      ],
      { addGenerationPrompt: answer === undefined },
    );

  it("conversational rows: the template's prompt + answer rendering minus its prompt rendering (end of turn included)", () => {
    const { data, stats } = tokenizeRows(rows("2 + 2 = 4."), tokenizer, 512);
    const row = data.rows[0]!;
    const prompt = tokenizer.encode(chat(), { addSpecialTokens: false });
    expect(row.prompt).toEqual(prompt);
    expect("completion" in row && row.completion).toEqual(
      tokenizer.encode(chat("2 + 2 = 4."), { addSpecialTokens: false }).slice(prompt.length),
    );
    expect(stats).toEqual({ dropped: 0, truncated: 0, prefixMismatches: 0 });
  });

  it("standard rows: no chat template, the answer ends with the EOS text", () => {
    const row = tokenizeRows(rows("2 + 2 = 4.", "What is 2 + 2?", false), tokenizer, 512).data.rows[0]!;
    expect(row.prompt).toEqual(tokenizer.encode("What is 2 + 2?", { addSpecialTokens: true }));
    expect("completion" in row && row.completion.at(-1)).toBe(tokenizer.eosTokenId);
  });

  it("keeps the start of a long completion and drops a prompt that fills maxLength", () => {
    const prompt = tokenizer.encode(chat(), { addSpecialTokens: false });
    const answer = "a long answer that goes on and on";
    const full = tokenizer.encode(chat(answer), { addSpecialTokens: false }).slice(prompt.length);
    const cut = tokenizeRows(rows(answer), tokenizer, prompt.length + 3);
    expect(
      cut.data.rows[0]!.prompt.length + ("completion" in cut.data.rows[0]! ? cut.data.rows[0].completion.length : 0),
    ).toBe(prompt.length + 3);
    expect("completion" in cut.data.rows[0]! && cut.data.rows[0].completion).toEqual(full.slice(0, 3));
    expect(cut.stats.truncated).toBe(1);
    const dropped = tokenizeRows(rows("x"), tokenizer, prompt.length);
    expect(dropped.data.rows).toHaveLength(0);
    expect(dropped.stats.dropped).toBe(1);
  });
});

describe("planEpoch", () => {
  const lengths = Array.from({ length: 50 }, (_, i) => (i * 37) % 23);
  it("is a seeded permutation cut into batches", () => {
    const plan = planEpoch(lengths, 4, 7, false);
    expect(plan).toEqual(planEpoch(lengths, 4, 7, false));
    expect(plan).not.toEqual(planEpoch(lengths, 4, 8, false));
    expect(plan.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    expect(plan.map((b) => b.length)).toEqual([...Array(12).fill(4), 2]);
  });
  it("groups similar lengths with bucketing", () => {
    const spread = (plan: number[][]) =>
      plan.reduce((s, b) => s + Math.max(...b.map((i) => lengths[i]!)) - Math.min(...b.map((i) => lengths[i]!)), 0);
    expect(spread(planEpoch(lengths, 4, 7, true))).toBeLessThan(spread(planEpoch(lengths, 4, 7, false)));
  });
  it("does not run each group from the longest batch to the shortest", () => {
    // 4 groups of 16 batches; in length order every group would start with its longest batch.
    const many = Array.from({ length: 256 }, (_, i) => (i * 53) % 97);
    const plan = planEpoch(many, 4, 7, true);
    expect(plan.flat().sort((a, b) => a - b)).toEqual(many.map((_, i) => i));
    const longest = (batch: number[]) => Math.max(...batch.map((i) => many[i]!));
    const descending = [0, 1, 2, 3].filter((g) => {
      const group = plan.slice(g * 16, g * 16 + 16).map(longest);
      return group.every((len, i) => i === 0 || len <= group[i - 1]!);
    });
    expect(descending).toEqual([]);
  });
});
