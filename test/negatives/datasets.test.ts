/**
 * The training files `exportDatasets` rebuilds from inject's journals: the KTO files in the
 * spread order (checked with the TRL and LLaMA-Factory KL-row simulations of test/helpers/kl-rows.ts),
 * the conversational KTO file, and dpo_multi.jsonl with one row per prompt.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { countWindowConflicts } from "../../src/data/index.js";
import { toJsonLines } from "../../src/io/index.js";
import { exportDatasets, exportFiles, KTO_SPREAD_WINDOW } from "../../src/negatives/datasets.js";
import type { NegativeLine } from "../../src/negatives/journals.js";
import { injectStatsSchema } from "../../src/negatives/stats.js";
import type { Strategy } from "../../src/negatives/strategy.js";
import { readJsonl } from "../helpers/cli.js";
import { llamaFactoryKlPairs, sharedPromptShare, trlKlPairs } from "../helpers/kl-rows.js";

const TYPES = ["correctness", "logic", "hallucination"];
const all: Strategy = { kind: "all", types: TYPES.map((name) => ({ name, description: name })) };
const counters = { retries: 0, cacheHits: 0, cacheMisses: 0 };

/** `prompts` prompts with three negatives each, except every fifth, whose logic rewrite was rejected. */
function journal(prompts: number): NegativeLine[] {
  return Array.from({ length: prompts }, (_, p) =>
    TYPES.filter((type) => !(p % 5 === 0 && type === "logic")).map((errorType) => ({
      sourceId: `q${p}`,
      errorType,
      injector: "injector-7b",
      templateVersion: "inject-v1",
      seed: 7,
      prompt: `What is ${p} plus ${p}?`,
      history: p % 2 === 0 ? [{ role: "system" as const, content: "Be brief." }] : [],
      chosen: `${2 * p}.`,
      rejected: `${2 * p + 1} (${errorType}).`,
      usage: { inputTokens: 10, outputTokens: 3 },
    })),
  ).flat();
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function runDir(lines: NegativeLine[]): string {
  const dir = mkdtempSync(join(tmpdir(), "seapo-datasets-"));
  dirs.push(dir);
  writeFileSync(join(dir, "negatives.jsonl"), toJsonLines(lines));
  return dir;
}

interface Kto {
  prompt: string;
  completion: string;
  label: boolean;
}
const promptOf = (row: { prompt: string }) => row.prompt;

describe("exportDatasets: KTO row order", () => {
  const prompts = 60;
  const lines = journal(prompts);

  it("no TRL or LLaMA-Factory KL row shares its prompt, at any usual batch size", async () => {
    const dir = runDir(lines);
    const stats = await exportDatasets(dir, all, 7, counters);
    const kto = readJsonl<Kto>(join(dir, exportFiles.kto));
    expect(kto).toHaveLength(lines.length + prompts);
    for (const batch of [2, 4, 8, 16]) {
      expect(sharedPromptShare(kto, trlKlPairs(kto, batch), promptOf), `batch ${batch}`).toBe(0);
      // With 4 shards of 57 rows a chunk of one row is left at each shard's end, paired with its own
      // completion whatever the order: those are the only shared KL rows allowed.
      const sharded = trlKlPairs(kto, batch, { numProc: 4 }).filter((p) => p.row !== p.partner);
      expect(sharedPromptShare(kto, sharded, promptOf), `batch ${batch}, 4 shards`).toBe(0);
    }
    // The bound the issue asks for (≤ 1%) with LLaMA-Factory's chunks of 1000 (here the whole file).
    expect(sharedPromptShare(kto, llamaFactoryKlPairs(kto), promptOf)).toBeLessThanOrEqual(0.01);
    expect(countWindowConflicts(kto, promptOf, KTO_SPREAD_WINDOW)).toBe(0);
    expect(stats.kto.order).toEqual({ window: KTO_SPREAD_WINDOW, seed: 7, conflicts: 0 });
    expect(injectStatsSchema.parse(stats)).toEqual(stats);
  });

  it("the journal's own order (a prompt's rows together) would fail the same check", () => {
    // What the writer did before: each prompt's positive, then its negatives.
    const grouped = lines.flatMap((l, i) => [
      ...(i === 0 || lines[i - 1]!.sourceId !== l.sourceId ? [{ prompt: l.prompt, completion: l.chosen }] : []),
      { prompt: l.prompt, completion: l.rejected },
    ]);
    expect(sharedPromptShare(grouped, trlKlPairs(grouped, 2), promptOf)).toBe(168 / 228);
    expect(sharedPromptShare(grouped, trlKlPairs(grouped, 8), promptOf)).toBe(148 / 228);
    expect(sharedPromptShare(grouped, llamaFactoryKlPairs(grouped), promptOf)).toBe(168 / 228);
  });

  it("keeps every row once, each positive once per prompt, and the three KTO files row for row", async () => {
    const dir = runDir(lines);
    await exportDatasets(dir, all, 7, counters);
    const kto = readJsonl<Kto & { seapo: { sourceId: string } }>(join(dir, exportFiles.kto));
    const expected = lines.flatMap((l, i) => [
      ...(i === 0 || lines[i - 1]!.sourceId !== l.sourceId ? [`${l.prompt}|${l.chosen}|true`] : []),
      `${l.prompt}|${l.rejected}|false`,
    ]);
    expect(kto.map((r) => `${r.prompt}|${r.completion}|${r.label}`).sort()).toEqual(expected.sort());

    const conversational = readJsonl<{ prompt: Array<{ role: string; content: string }>; completion: unknown }>(
      join(dir, exportFiles.ktoConversational),
    );
    const lf = readJsonl<{ messages: Array<{ role: string; content: string }>; label: boolean }>(
      join(dir, exportFiles.llamaFactoryDir, exportFiles.llamaFactoryKto),
    );
    expect(conversational).toHaveLength(kto.length);
    kto.forEach((row, i) => {
      const system = Number(row.seapo.sourceId.slice(1)) % 2 === 0 ? [{ role: "system", content: "Be brief." }] : [];
      expect(conversational[i]).toEqual({
        ...row,
        prompt: [...system, { role: "user", content: row.prompt }],
        completion: [{ role: "assistant", content: row.completion }],
      });
      expect(lf[i]!.messages.at(-1)).toEqual({ role: "assistant", content: row.completion });
      expect(lf[i]!.messages.at(-2)).toEqual({ role: "user", content: row.prompt });
      expect(lf[i]!.label).toBe(row.label);
    });
  });

  it("is a function of the journals and the seed: same bytes again, another order for another seed", async () => {
    const [a, b, c] = [runDir(lines), runDir(lines), runDir(lines)];
    await exportDatasets(a, all, 7, counters);
    await exportDatasets(b, all, 7, counters);
    await exportDatasets(c, all, 8, counters);
    for (const file of [exportFiles.kto, exportFiles.ktoConversational]) {
      expect(readFileSync(join(b, file), "utf8")).toBe(readFileSync(join(a, file), "utf8"));
      expect(readFileSync(join(c, file), "utf8")).not.toBe(readFileSync(join(a, file), "utf8"));
    }
    expect(readdirSync(a).filter((name) => name.includes(".spool") || name.endsWith(".tmp"))).toEqual([]);
  });

  it("a run that fails while exporting leaves the old files whole, and the rerun writes them exactly", async () => {
    const dir = runDir(lines.slice(0, 30));
    await exportDatasets(dir, all, 7, counters);
    const before = readFileSync(join(dir, exportFiles.kto), "utf8");
    writeFileSync(join(dir, "negatives.jsonl"), toJsonLines(lines));
    appendFileSync(join(dir, "negatives.jsonl"), "{not json\n"); // a torn last line stops the export
    await expect(exportDatasets(dir, all, 7, counters)).rejects.toThrow();
    expect(readFileSync(join(dir, exportFiles.kto), "utf8")).toBe(before);

    writeFileSync(join(dir, "negatives.jsonl"), toJsonLines(lines));
    await exportDatasets(dir, all, 7, counters);
    const clean = runDir(lines);
    await exportDatasets(clean, all, 7, counters);
    for (const file of [exportFiles.kto, exportFiles.ktoConversational, exportFiles.dpoMulti]) {
      expect(readFileSync(join(dir, file), "utf8")).toBe(readFileSync(join(clean, file), "utf8"));
    }
  });

  it("with fewer prompts than the window, counts the rows it could not keep apart", async () => {
    const dir = runDir(journal(3));
    const stats = await exportDatasets(dir, all, 1, counters, { ktoWindow: 4 });
    const kto = readJsonl<Kto>(join(dir, exportFiles.kto));
    expect(stats.kto.order).toEqual({ window: 4, seed: 1, conflicts: countWindowConflicts(kto, promptOf, 4) });
    expect(stats.kto.order!.conflicts).toBeGreaterThan(0);
  });
});

describe("exportDatasets: dpo_multi.jsonl", () => {
  it("one row per prompt with all its negatives in journal order, each with its error type", async () => {
    const lines = journal(6);
    const dir = runDir(lines);
    const stats = await exportDatasets(dir, all, 7, counters);
    const multi = readJsonl<{ prompt: string; chosen: string; rejected: string[]; seapo: Record<string, unknown> }>(
      join(dir, exportFiles.dpoMulti),
    );
    expect(multi.map((r) => r.rejected.length)).toEqual([2, 3, 3, 3, 3, 2]);
    expect(multi[0]).toEqual({
      prompt: "What is 0 plus 0?",
      chosen: "0.",
      rejected: ["1 (correctness).", "1 (hallucination)."],
      seapo: {
        sourceId: "q0",
        rejected: ["correctness", "hallucination"].map((errorType) => ({
          errorType,
          injector: "injector-7b",
          templateVersion: "inject-v1",
          seed: 7,
        })),
      },
    });
    expect(multi.reduce((n, r) => n + r.rejected.length, 0)).toBe(stats.pairs);
  });

  it("mixed keeps the one negative it exports per prompt", async () => {
    const dir = runDir(journal(6));
    await exportDatasets(dir, { ...all, kind: "mixed" }, 7, counters);
    const multi = readJsonl<{ rejected: string[] }>(join(dir, exportFiles.dpoMulti));
    const dpo = readJsonl<{ rejected: string }>(join(dir, exportFiles.dpo));
    expect(multi.map((r) => r.rejected)).toEqual(dpo.map((r) => [r.rejected]));
    expect(existsSync(join(dir, exportFiles.ktoConversational))).toBe(true);
  });
});
