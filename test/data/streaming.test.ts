import { appendFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { readSourceRows } from "../../src/data/index.js";
import { fixtureDir } from "./fixtures.js";

const files = fixtureDir();

// A forced collection before each sample makes heapUsed measure what is retained, not garbage.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

it("reads a 200k-line file with flat memory", async () => {
  const rows = 200_000;
  const path = files.write("big.jsonl", "");
  // ~300 bytes a line: a ~60 MB file, which would push the heap past the limit if it were held whole.
  const filler = "x".repeat(250);
  for (let start = 0; start < rows; start += 20_000) {
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => `{"id":"r${start + i}","prompt":"question ${start + i}","response":"${filler}"}\n`,
    );
    appendFileSync(path, lines.join(""));
  }

  gc();
  const before = process.memoryUsage().heapUsed;
  let peakGrowth = 0;
  let count = 0;
  let lastId = "";
  for await (const row of readSourceRows(path, { format: "plain" })) {
    count++;
    lastId = row.id;
    if (count % 40_000 === 0) {
      gc();
      peakGrowth = Math.max(peakGrowth, process.memoryUsage().heapUsed - before);
    }
  }

  expect(count).toBe(rows);
  expect(lastId).toBe(`r${rows - 1}`);
  expect(peakGrowth).toBeLessThan(50 * 1024 * 1024);
});
