import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal, readRecords } from "../../src/io/index.js";
import { runInOrder } from "../../src/negatives/in-order.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-journal-"));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("Journal", () => {
  it("cuts off a torn last line left by a kill, then appends whole lines", async () => {
    const path = join(dir, "torn.jsonl");
    writeFileSync(path, '{"n":1}\n{"n":2}\n{"n":');
    const journal = Journal.open(path);
    journal.append({ n: 3 });
    journal.close();
    expect(readFileSync(path, "utf8")).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    expect(await collect(readRecords(path))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("empties a file whose only line is torn", () => {
    const path = join(dir, "only-torn.jsonl");
    writeFileSync(path, '{"half');
    Journal.open(path).close();
    expect(readFileSync(path, "utf8")).toBe("");
  });

  it("keeps a file that ends cleanly as it is", () => {
    const path = join(dir, "clean.jsonl");
    writeFileSync(path, '{"a":1}\n');
    Journal.open(path).close();
    appendFileSync(path, "");
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n');
  });
});

describe("runInOrder", () => {
  async function* numbers(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }

  it("commits results in job order although they finish out of order", async () => {
    const committed: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    await runInOrder(
      numbers(40),
      8,
      async (i) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, (i * 7) % 13));
        inFlight--;
        return i * 10;
      },
      (i, result) => {
        expect(result).toBe(i * 10);
        committed.push(i);
      },
    );
    expect(committed).toEqual([...Array(40).keys()]);
    expect(maxInFlight).toBeLessThanOrEqual(8);
    expect(maxInFlight).toBeGreaterThan(1);
  });

  it("commits everything before a failure and then rejects with it", async () => {
    const committed: number[] = [];
    await expect(
      runInOrder(
        numbers(10),
        3,
        async (i) => {
          if (i === 5) throw new Error("job 5 failed");
          return i;
        },
        (i) => committed.push(i),
      ),
    ).rejects.toThrow("job 5 failed");
    expect(committed).toEqual([0, 1, 2, 3, 4]);
  });
});
