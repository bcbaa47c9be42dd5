import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl, runCli } from "../helpers/cli.js";
import { tinyGgufPath } from "../helpers/tiny-gguf.js";
import { toJsonLines } from "../../src/io/index.js";

describe("seapo inject --gguf (in-process node-llama-cpp)", () => {
  it("runs the whole pipeline on a real GGUF and accounts for every row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-gguf-"));
    const input = join(dir, "rows.jsonl");
    const rows = [
      { id: "a", prompt: "What is 2 plus 2?", response: "Two plus two is 4." },
      { id: "b", prompt: "Name a primary colour.", response: "Red is a primary colour." },
    ];
    writeFileSync(input, toJsonLines(rows));
    const out = join(dir, "out");
    // A random-weight model cannot follow the instruction: what matters is that every job ends in
    // negatives.jsonl or rejects.jsonl with a reason, through the real in-process provider.
    const result = await runCli([
      "inject",
      "--gguf",
      await tinyGgufPath({ contextLength: 2048 }),
      "--input",
      input,
      "--out",
      out,
      "--strategy",
      "all",
      "--max-tokens",
      "24",
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);
    const stats = JSON.parse(readFileSync(join(out, "stats.json"), "utf8"));
    expect(stats.accepted + stats.rejected).toBe(6);
    const rejects = readJsonl(join(out, "rejects.jsonl"));
    for (const reject of rejects)
      expect(["truncated", "length-ratio", "meta-text", "empty", "near-identical", "identical"]).toContain(
        reject.reason,
      );
    expect(stats.tokens.output).toBeGreaterThan(0);
    const all = [...readJsonl(join(out, "negatives.jsonl")), ...rejects];
    expect(all.every((row) => String(row.injector).startsWith("gguf:"))).toBe(true);
  });

  it("rejects a prompt too long for the model's context as a provider error, and stops when every request fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-gguf-"));
    const input = join(dir, "rows.jsonl");
    const long = {
      id: "long",
      prompt: `Summarise: ${"words ".repeat(400)}`,
      response: "It repeats one word 400 times.",
    };
    const short = (i: number) => ({ id: `s${i}`, prompt: "Hi?", response: "Hello there, friend." });
    writeFileSync(input, toJsonLines([short(0), long, short(1)]));
    const gguf = await tinyGgufPath({ contextLength: 1024 });
    const out = join(dir, "out");
    const result = await runCli([
      "inject",
      "--gguf",
      gguf,
      "--input",
      input,
      "--out",
      out,
      "--strategy",
      "single:logic",
      "--max-tokens",
      "8",
    ]);
    expect(result.code).toBe(0);
    expect(
      readJsonl(join(out, "rejects.jsonl"))
        .filter((r) => r.reason === "provider-error")
        .map((r) => r.sourceId),
    ).toEqual(["long"]);

    const allLong = join(dir, "all-long.jsonl");
    writeFileSync(allLong, toJsonLines(Array.from({ length: 12 }, (_, i) => ({ ...long, id: `l${i}` }))));
    const failed = await runCli([
      "inject",
      "--gguf",
      gguf,
      "--input",
      allLong,
      "--out",
      join(dir, "out2"),
      "--strategy",
      "single:logic",
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("the context holds 1024");
  });
});
