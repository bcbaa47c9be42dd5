import { describe, expect, it } from "vitest";
import {
  llamaFactoryDatasetInfo,
  toDpoConversationalRow,
  toDpoRow,
  toDpoMultiRow,
  toKtoConversationalRows,
  toKtoRows,
  toLlamaFactoryDpoRow,
  toLlamaFactoryKtoRows,
} from "../../src/data/index.js";
import type { NegativeRecord } from "../../src/data/types.js";

const seapo = { sourceId: "q7", errorType: "correctness", injector: "qwen-7b", templateVersion: "inject-v1", seed: 3 };

// A record as read back from the journal: it carries `usage`, which must not reach any row.
const multiTurn = {
  ...seapo,
  prompt: "And 3*3?",
  history: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi." },
    { role: "assistant", content: "Hello." },
  ],
  chosen: "9.",
  rejected: "6.",
  usage: { inputTokens: 10, outputTokens: 2 },
} as NegativeRecord;

const singleTurn: NegativeRecord = {
  ...seapo,
  prompt: "Capital of France?",
  history: [],
  chosen: "Paris.",
  rejected: "Lyon.",
};

describe("training rows", () => {
  const cases: Array<[string, () => unknown, unknown]> = [
    ["TRL standard DPO", () => toDpoRow(multiTurn), { prompt: "And 3*3?", chosen: "9.", rejected: "6.", seapo }],
    [
      "TRL conversational DPO",
      () => toDpoConversationalRow(multiTurn),
      {
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi." },
          { role: "assistant", content: "Hello." },
          { role: "user", content: "And 3*3?" },
        ],
        chosen: [{ role: "assistant", content: "9." }],
        rejected: [{ role: "assistant", content: "6." }],
        seapo,
      },
    ],
    [
      "TRL KTO with the positive",
      () => toKtoRows(singleTurn, { includeDesirable: true }),
      [
        { prompt: "Capital of France?", completion: "Paris.", label: true, seapo },
        { prompt: "Capital of France?", completion: "Lyon.", label: false, seapo },
      ],
    ],
    [
      "TRL KTO, positive already written",
      () => toKtoRows(singleTurn, { includeDesirable: false }),
      [{ prompt: "Capital of France?", completion: "Lyon.", label: false, seapo }],
    ],
    [
      "TRL conversational KTO, multi-turn, with the positive",
      () => toKtoConversationalRows(multiTurn, { includeDesirable: true }),
      [true, false].map((label) => ({
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi." },
          { role: "assistant", content: "Hello." },
          { role: "user", content: "And 3*3?" },
        ],
        completion: [{ role: "assistant", content: label ? "9." : "6." }],
        label,
        seapo,
      })),
    ],
    [
      "TRL conversational KTO, positive already written",
      () => toKtoConversationalRows(singleTurn, { includeDesirable: false }),
      [
        {
          prompt: [{ role: "user", content: "Capital of France?" }],
          completion: [{ role: "assistant", content: "Lyon." }],
          label: false,
          seapo,
        },
      ],
    ],
    [
      "several negatives of one prompt as one row, each with its error type",
      () =>
        toDpoMultiRow([
          multiTurn,
          { ...multiTurn, errorType: "logic", rejected: "8.", seed: 4 },
          { ...multiTurn, errorType: "hallucination", rejected: "9 and a half." },
        ]),
      {
        prompt: "And 3*3?",
        chosen: "9.",
        rejected: ["6.", "8.", "9 and a half."],
        seapo: {
          sourceId: "q7",
          rejected: [
            { errorType: "correctness", injector: "qwen-7b", templateVersion: "inject-v1", seed: 3 },
            { errorType: "logic", injector: "qwen-7b", templateVersion: "inject-v1", seed: 4 },
            { errorType: "hallucination", injector: "qwen-7b", templateVersion: "inject-v1", seed: 3 },
          ],
        },
      },
    ],
    [
      "LLaMA-Factory DPO (sharegpt ranking), system turn kept",
      () => toLlamaFactoryDpoRow(multiTurn),
      {
        conversations: [
          { from: "system", value: "Be brief." },
          { from: "human", value: "Hi." },
          { from: "gpt", value: "Hello." },
          { from: "human", value: "And 3*3?" },
        ],
        chosen: { from: "gpt", value: "9." },
        rejected: { from: "gpt", value: "6." },
        seapo,
      },
    ],
    [
      "LLaMA-Factory KTO with the positive",
      () => toLlamaFactoryKtoRows(singleTurn, { includeDesirable: true }),
      [
        {
          messages: [
            { role: "user", content: "Capital of France?" },
            { role: "assistant", content: "Paris." },
          ],
          label: true,
          seapo,
        },
        {
          messages: [
            { role: "user", content: "Capital of France?" },
            { role: "assistant", content: "Lyon." },
          ],
          label: false,
          seapo,
        },
      ],
    ],
    [
      "LLaMA-Factory KTO, multi-turn, positive already written",
      () => toLlamaFactoryKtoRows(multiTurn, { includeDesirable: false }),
      [
        {
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Hi." },
            { role: "assistant", content: "Hello." },
            { role: "user", content: "And 3*3?" },
            { role: "assistant", content: "6." },
          ],
          label: false,
          seapo,
        },
      ],
    ],
  ];

  it.each(cases)("%s", (_name, build, expected) => {
    // Through JSON, as the rows are written: toStrictEqual would also catch stray undefined keys.
    expect(JSON.parse(JSON.stringify(build()))).toStrictEqual(expected);
  });

  it("a multi-negative row refuses an empty group and negatives of another prompt", () => {
    expect(() => toDpoMultiRow([])).toThrow(/at least one negative/);
    expect(() => toDpoMultiRow([singleTurn, { ...singleTurn, sourceId: "q8" }])).toThrow(/q8 is not q7/);
    expect(() => toDpoMultiRow([singleTurn, { ...singleTurn, chosen: "Paris!" }])).toThrow(/another positive/);
  });

  it("rows do not share the record's history array", () => {
    const row = toDpoConversationalRow(multiTurn);
    row.prompt[0]!.content = "changed";
    expect(multiTurn.history[0]!.content).toBe("Be brief.");
  });
});

describe("llamaFactoryDatasetInfo", () => {
  it("registers the DPO file as sharegpt ranking data and the KTO file with its label column", () => {
    expect(
      llamaFactoryDatasetInfo({ dpoFile: "seapo_dpo.jsonl", ktoFile: "seapo_kto.jsonl", name: "seapo" }),
    ).toStrictEqual({
      seapo_dpo: {
        file_name: "seapo_dpo.jsonl",
        formatting: "sharegpt",
        ranking: true,
        columns: { messages: "conversations", chosen: "chosen", rejected: "rejected" },
        tags: { role_tag: "from", content_tag: "value", user_tag: "human", assistant_tag: "gpt", system_tag: "system" },
      },
      seapo_kto: {
        file_name: "seapo_kto.jsonl",
        formatting: "sharegpt",
        columns: { messages: "messages", kto_tag: "label" },
        tags: {
          role_tag: "role",
          content_tag: "content",
          user_tag: "user",
          assistant_tag: "assistant",
          system_tag: "system",
        },
      },
    });
  });

  it("the tags it writes match the keys and roles of the rows the builders make", () => {
    const info = llamaFactoryDatasetInfo({ dpoFile: "d.jsonl", ktoFile: "k.jsonl", name: "x" });
    const dpo = toLlamaFactoryDpoRow(multiTurn) as unknown as Record<string, Array<Record<string, string>>>;
    const dpoTags = info.x_dpo!.tags;
    const turns = dpo[info.x_dpo!.columns.messages!]!;
    expect(turns.map((turn) => turn[dpoTags.role_tag!])).toEqual([
      dpoTags.system_tag,
      dpoTags.user_tag,
      dpoTags.assistant_tag,
      dpoTags.user_tag,
    ]);
    const kto = toLlamaFactoryKtoRows(multiTurn, { includeDesirable: false })[0] as unknown as Record<string, unknown>;
    const ktoTags = info.x_kto!.tags;
    const messages = kto[info.x_kto!.columns.messages!] as Array<Record<string, string>>;
    expect(messages.at(-1)).toEqual({ [ktoTags.role_tag!]: ktoTags.assistant_tag, [ktoTags.content_tag!]: "6." });
    expect(typeof kto[info.x_kto!.columns.kto_tag!]).toBe("boolean");
  });
});
