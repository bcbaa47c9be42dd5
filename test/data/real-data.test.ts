import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSourceRows, type SourceReject } from "../../src/data/index.js";
import { resolveDataDir } from "../../src/eval/data.js";
import { collect } from "./fixtures.js";

// Counts and first rows as the data folder's README (§8) describes these files.
const dir = join(resolveDataDir(), "preference");
const ultrafeedback = join(dir, "ultrafeedback", "train_clean.jsonl");
const dpoDemo = join(dir, "llama_factory", "dpo_en_demo.json");
const ktoDemo = join(dir, "llama_factory", "kto_en_demo.json");

async function readAll(path: string) {
  const rejects: SourceReject[] = [];
  const rows = await collect(readSourceRows(path, { skipInvalid: true, onReject: (reject) => rejects.push(reject) }));
  return { rows, rejects };
}

// The data is part of the project's set-up (../shared/data or $SEAPO_DATA_DIR): missing data fails, it is not skipped.
describe("the shared preference data", () => {
  it("UltraFeedback train_clean: 1,000 rows, one of them with an empty chosen answer", async () => {
    const { rows, rejects } = await readAll(ultrafeedback);
    expect(rows.length + rejects.length).toBe(1000);
    expect(rejects).toMatchObject([{ line: 834, field: "chosen", reason: "is empty" }]);
    expect(rows[0]).toMatchObject({ id: "27808", prompt: "how to cook t-bone in the oven", history: [], line: 1 });
    expect(rows[0]!.response.startsWith("To cook a delicious T-bone steak in the oven")).toBe(true);
    expect(rows.every((row) => typeof row.rejected === "string" && typeof row.meta?.score_chosen === "number")).toBe(
      true,
    );
  });

  it("UltraFeedback train_clean without skipInvalid stops at that row", async () => {
    await expect(collect(readSourceRows(ultrafeedback))).rejects.toThrow(`${ultrafeedback}:834:chosen: is empty`);
  });

  it("dpo_en_demo: 300 ranking rows, the 80 with a system turn keep it in history", async () => {
    const { rows, rejects } = await readAll(dpoDemo);
    expect(rejects).toEqual([]);
    expect(rows).toHaveLength(300);
    expect(rows.filter((row) => row.history[0]?.role === "system")).toHaveLength(80);
    expect(
      rows.every(
        (row) => row.rejected !== undefined && row.history.length % 2 === (row.history[0]?.role === "system" ? 1 : 0),
      ),
    ).toBe(true);
    expect(rows[0]!.prompt).toBe(
      "Hi! I'd like to create a new language game simulating the first person perspective of a character named Angela.",
    );
    expect(rows[0]!.id).toBe("dpo_en_demo.json:1");
  });

  it("kto_en_demo: 150 desirable rows read, 150 undesirable ones reported", async () => {
    const { rows, rejects } = await readAll(ktoDemo);
    expect(rows).toHaveLength(150);
    expect(rejects).toHaveLength(150);
    expect(new Set(rejects.map((reject) => `${reject.field}: ${reject.reason}`))).toEqual(
      new Set(["label: undesirable example has no good answer"]),
    );
    expect(rows[0]!.prompt.startsWith("The Federal Trade Commission is going after spyware")).toBe(true);
  });
});
