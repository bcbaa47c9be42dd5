import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toJsonLines } from "../../src/io/index.js";
import { journalFiles, putInInputOrder, type InputOrder } from "../../src/negatives/journals.js";

const types = ["correctness", "logic", "hallucination"];
/** Row q<i> sits on input line 2i + 1 (as if every other line were blank). */
const order: InputOrder = {
  lineOf: (id) => (/^q\d+$/.test(id) ? 2 * Number(id.slice(1)) + 1 : undefined),
  typeRank: (type) => types.indexOf(type),
};

const negative = (sourceId: string, errorType: string) => ({
  sourceId,
  errorType,
  rejected: `${sourceId} ${errorType}`,
});

function journalDir(negatives: object[], rejects: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), "seapo-journals-"));
  writeFileSync(join(dir, journalFiles.negatives), toJsonLines(negatives));
  writeFileSync(join(dir, journalFiles.rejects), toJsonLines(rejects));
  return dir;
}

const keys = (dir: string, file: string) =>
  readFileSync(join(dir, file), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const record = JSON.parse(line) as { sourceId?: string; errorType?: string; line?: number };
      return record.sourceId ? `${record.sourceId}/${record.errorType}` : `line ${record.line}`;
    });

describe("putInInputOrder", () => {
  it("sorts both journals by input line, then type rank, keeping each line's bytes", async () => {
    const negatives = [negative("q0", "logic"), negative("q2", "correctness"), negative("q0", "correctness")];
    negatives.push(negative("gone", "logic"), negative("q1", "hallucination"), negative("old", "logic"));
    const rejects = [
      { reason: "provider-error", detail: "x", sourceId: "q2", errorType: "logic" },
      { reason: "invalid-input", detail: "prompt: missing", line: 4 },
      { reason: "truncated", detail: "y", sourceId: "q1", errorType: "correctness" },
    ];
    const dir = journalDir(negatives, rejects);
    const before = readFileSync(join(dir, journalFiles.negatives), "utf8").split("\n").sort();

    expect(await putInInputOrder(dir, order)).toEqual([journalFiles.negatives, journalFiles.rejects]);
    // Rows the input no longer holds go last, in the order they were written.
    expect(keys(dir, journalFiles.negatives)).toEqual([
      "q0/correctness",
      "q0/logic",
      "q1/hallucination",
      "q2/correctness",
      "gone/logic",
      "old/logic",
    ]);
    // An unreadable input row (line 4) sits between q1 (line 3) and q2 (line 5).
    expect(keys(dir, journalFiles.rejects)).toEqual(["q1/correctness", "line 4", "q2/logic"]);
    expect(readFileSync(join(dir, journalFiles.negatives), "utf8").split("\n").sort()).toEqual(before);
  });

  it("leaves journals already in order alone", async () => {
    const dir = journalDir(
      [negative("q0", "correctness"), negative("q0", "hallucination"), negative("q3", "logic")],
      [],
    );
    expect(await putInInputOrder(dir, order)).toEqual([]);
  });

  it("cuts a torn last line (a kill mid-write) before sorting", async () => {
    const dir = journalDir([negative("q1", "logic"), negative("q0", "logic")], []);
    appendFileSync(join(dir, journalFiles.negatives), '{"sourceId":"q0","errorT');
    expect(await putInInputOrder(dir, order)).toEqual([journalFiles.negatives]);
    expect(keys(dir, journalFiles.negatives)).toEqual(["q0/logic", "q1/logic"]);
  });
});
