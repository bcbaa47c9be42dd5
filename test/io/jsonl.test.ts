import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { collect, fixtureDir } from "../data/fixtures.js";
import { readJsonLines } from "../../src/io/index.js";

const files = fixtureDir();

describe("readJsonLines", () => {
  const cases: Array<[string, string, string, Array<{ line: number; value: unknown }>]> = [
    [
      "JSONL, blank lines skipped but counted",
      "a.jsonl",
      '{"a":1}\n\n  \n[2]\n"three"\n',
      [
        { line: 1, value: { a: 1 } },
        { line: 4, value: [2] },
        { line: 5, value: "three" },
      ],
    ],
    [
      "JSONL without a final newline, CRLF endings and a byte-order mark",
      "b.jsonl",
      '\uFEFF{"a":1}\r\n{"b":2}',
      [
        { line: 1, value: { a: 1 } },
        { line: 2, value: { b: 2 } },
      ],
    ],
    [
      "a JSON array: line is the element index + 1",
      "c.json",
      '[\n  {"a": 1},\n\n  {"b": 2}\n]',
      [
        { line: 1, value: { a: 1 } },
        { line: 2, value: { b: 2 } },
      ],
    ],
    [
      "a .json file holding JSON lines",
      "d.json",
      '{"a":1}\n{"b":2}\n',
      [
        { line: 1, value: { a: 1 } },
        { line: 2, value: { b: 2 } },
      ],
    ],
  ];

  it.each(cases)("%s", async (_name, file, text, expected) => {
    expect(await collect(readJsonLines(files.write(file, text)))).toEqual(expected);
  });

  const bad: Array<[string, string, string, string]> = [
    ["a malformed line", "bad.jsonl", '{"a":1}\n{"a": \n', ":2: malformed JSON: "],
    ["a malformed JSON array (no line to name)", "bad.json", '[{"a": 1},', ": malformed JSON: "],
  ];

  it.each(bad)("%s throws an InputError naming the file and line", async (_name, file, text, where) => {
    const path = files.write(file, text);
    const error = await collect(readJsonLines(path)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message.startsWith(`${path}${where}`)).toBe(true);
  });

  it("a missing file is an InputError, not a crash", async () => {
    const path = `${files.dir}/nowhere.jsonl`;
    await expect(collect(readJsonLines(path))).rejects.toThrow(`${path}: no such file`);
  });

  it("stops reading when the consumer stops", async () => {
    const path = files.write("many.jsonl", Array.from({ length: 50 }, (_, i) => `{"i":${i}}`).join("\n"));
    const seen: number[] = [];
    for await (const { line } of readJsonLines(path)) {
      seen.push(line);
      if (line === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
  });
});
