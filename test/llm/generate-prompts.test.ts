import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { createEngineModel } from "../../src/llm/engine.js";
import { generatePrompts, readPromptRows, type GenerationRecord } from "../../src/llm/generate-prompts.js";
import type { LanguageModel } from "../../src/llm/provider.js";
import { STORIES_HF, greedyReference } from "../engine/real/stories260k.js";

const work = mkdtempSync(join(tmpdir(), "seapo-generate-prompts-"));
let stories: LanguageModel;
beforeAll(async () => {
  stories = await createEngineModel({ dir: STORIES_HF });
});

function file(name: string, lines: unknown[]): string {
  const path = join(work, name);
  writeFileSync(path, lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n") + "\n");
  return path;
}

const readRecords = (path: string): GenerationRecord[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as GenerationRecord);

describe("readPromptRows", () => {
  it("reads prompts and chat rows, ids defaulting to the line number", async () => {
    const path = file("rows.jsonl", [
      { prompt: "Once upon a time" },
      { id: "chat", messages: [{ role: "user", content: "Lily" }] },
    ]);
    expect(await readPromptRows(path)).toEqual([
      { id: "1", prompt: "Once upon a time", messages: undefined },
      { id: "chat", prompt: undefined, messages: [{ role: "user", content: "Lily" }] },
    ]);
  });

  it.each([
    ["neither prompt nor messages", [{ id: 1 }], 1, /prompt.*exactly one of prompt or messages/],
    ["a bad role", [{ prompt: "a" }, { messages: [{ role: "robot", content: "x" }] }], 2, /messages\.0\.role/],
    [
      "a repeated id",
      [
        { id: "a", prompt: "x" },
        { id: "a", prompt: "y" },
      ],
      2,
      /id "a" is also on line 1/,
    ],
  ])("refuses %s, naming the file, line and field", async (_what, lines, line, message) => {
    const path = file("bad.jsonl", lines);
    const attempt = readPromptRows(path);
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow(`${path}:${line}`);
    await expect(attempt).rejects.toThrow(message);
  });
});

describe("generatePrompts", () => {
  const sampling = { maxTokens: 8, temperature: 1, topK: 20, seed: 5 };

  it("writes one record per row with finish reason and token counts, and a rerun resumes", async () => {
    const rows = [
      { id: "a", prompt: "" },
      { id: "b", prompt: "" },
      { id: "c", prompt: "Lily" },
    ];
    const out = join(work, "out.jsonl");
    const first = await generatePrompts({
      model: stories,
      modelName: "stories",
      rows: rows.slice(0, 2),
      raw: true,
      sampling,
      out,
      concurrency: 2,
    });
    expect(first.map((r) => r.id)).toEqual(["a", "b"]);
    expect(first[0]).toMatchObject({
      model: "stories",
      finishReason: "length",
      rawFinishReason: "length",
      inputTokens: 1,
      outputTokens: 8,
    });
    // Row i samples with seed + i: the same prompt twice gives two different stories.
    expect(first[0]!.text).not.toBe(first[1]!.text);
    appendFileSync(out, '{"id":"c","tex'); // a record torn by a kill
    const second = await generatePrompts({
      model: stories,
      modelName: "stories",
      rows,
      raw: true,
      sampling,
      out,
      concurrency: 2,
    });
    expect(second.map((r) => r.id)).toEqual(["c"]);
    expect(readRecords(out).map((r) => r.id)).toEqual(["a", "b", "c"]);
    // The same seed and row give the same text again.
    const again = await generatePrompts({
      model: stories,
      modelName: "stories",
      rows,
      raw: true,
      sampling,
      concurrency: 1,
    });
    expect(again.map((r) => r.text)).toEqual(readRecords(out).map((r) => r.text));
  });

  it("streams each row's text to the callback", async () => {
    const pieces: string[] = [];
    const [record] = await generatePrompts({
      model: stories,
      modelName: "stories",
      rows: [{ id: "x", prompt: "" }],
      raw: true,
      sampling: { maxTokens: 40, temperature: 0 },
      concurrency: 1,
      onText: (row, delta) => pieces.push(`${row.id}:${delta}`),
    });
    expect(pieces.length).toBeGreaterThan(5);
    expect(pieces.map((piece) => piece.slice(2)).join("")).toBe(record!.text);
    expect(greedyReference.text.startsWith(record!.text)).toBe(true);
  });

  it("refuses chat rows under --raw", async () => {
    const attempt = generatePrompts({
      model: stories,
      modelName: "stories",
      rows: [{ id: "m", messages: [{ role: "user", content: "hi" }] }],
      raw: true,
      sampling,
      concurrency: 1,
    });
    await expect(attempt).rejects.toThrow(/row m has messages; --raw needs prompts/);
  });
});
