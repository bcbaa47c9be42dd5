import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheHolds } from "../../src/llm/cache.js";

describe("the request cache's index", () => {
  it("keys on a prefix of the hash but answers only for the full key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-cache-index-"));
    const prefix = "0123456789abcdef";
    const [first, second, absent] = ["1", "2", "3"].map((digit) => prefix + digit.repeat(48));
    // Two keys sharing the indexed prefix, and a long entry that needs more than one read.
    const lines = [first, second].map((key) => JSON.stringify({ key, entry: { value: "x".repeat(9000) } }));
    writeFileSync(join(dir, "requests.jsonl"), `${lines.join("\n")}\n`);
    expect(await cacheHolds(dir, second!)).toBe(true);
    // The later line took the prefix: the earlier key is a miss (sent again), never the other's answer.
    expect(await cacheHolds(dir, first!)).toBe(false);
    expect(await cacheHolds(dir, absent!)).toBe(false);
  });
});
