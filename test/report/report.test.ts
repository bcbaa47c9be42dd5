import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { registerReportCommand } from "../../src/cli/commands/report.js";
import { buildReport, diffHtml, escapeHtml, readSources } from "../../src/report/index.js";
import {
  DEMO_TRAIN_CHARTS,
  INJECT_CHARTS,
  SCRIPT_TEXT,
  demoAndTrainDir,
  demoResults,
  injectDir,
  injectManifest,
  metricsLines,
} from "./fixtures.js";

function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), "seapo-report-empty-"));
}

describe("readSources", () => {
  it("names the directory and the expected files when there is nothing to report", async () => {
    const dir = emptyDir();
    writeFileSync(join(dir, "notes.txt"), "not a run\n");
    const error = await readSources(dir).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(dir);
    for (const file of [
      "results.json",
      "metrics.jsonl",
      "run.json",
      "negatives.jsonl",
      "stats.json",
      "rejects.jsonl",
      "analysis.json",
    ]) {
      expect((error as Error).message).toContain(file);
    }
  });

  it("refuses a directory that does not exist", async () => {
    await expect(readSources(join(emptyDir(), "missing"))).rejects.toThrow(/missing: no such directory/);
  });

  it.each([
    ["malformed JSON", '{"step": 20, "loss":', /metrics\.jsonl:2: malformed JSON/],
    ["a wrong-typed value", '{"step": 20, "loss": "high"}', /metrics\.jsonl:2:loss: /],
    ["a missing step", '{"loss": 0.5}', /metrics\.jsonl:2:step: /],
  ])("names the file and line of %s in metrics.jsonl", async (_case, badLine, pattern) => {
    const dir = emptyDir();
    writeFileSync(join(dir, "metrics.jsonl"), `${JSON.stringify(metricsLines()[0])}\n${badLine}\n`);
    await expect(readSources(dir)).rejects.toThrow(pattern);
  });

  it("names the file and field of a results.json that does not fit the demo's schema", async () => {
    const dir = emptyDir();
    const bad = { ...demoResults(), arms: [] };
    writeFileSync(join(dir, "results.json"), JSON.stringify(bad));
    await expect(readSources(dir)).rejects.toThrow(new RegExp(`${join(dir, "results.json")}:arms: `));
  });

  it("finds every source of the fixtures", async () => {
    expect((await readSources(demoAndTrainDir())).found).toEqual(["results.json", "run.json", "metrics.jsonl"]);
    const inject = await readSources(injectDir());
    expect(inject.found).toEqual([
      "eval-base.json",
      "manifest.json",
      "negatives.jsonl",
      "rejects.jsonl",
      "analysis.json",
    ]);
    expect(inject.inject?.stats).toMatchObject({
      accepted: 2,
      rejected: 2,
      acceptedByType: { correctness: 1, logic: 1 },
      rejectsByReason: { identical: 1, "invalid-input": 1 },
    });
    expect(inject.manifest?.command).toBe("inject");
  });

  it("reads the manifest of an inject run made before manifest.json, from run.json", async () => {
    const dir = emptyDir();
    writeFileSync(join(dir, "run.json"), JSON.stringify(injectManifest()));
    const sources = await readSources(dir);
    expect(sources.found).toEqual(["run.json"]);
    expect(sources.manifest).toEqual({
      identity: { input: "uf4.jsonl", strategy: "all:correctness,logic,hallucination" },
      command: "inject",
      updatedAt: "2026-11-30T12:00:00.000Z",
    });
    expect(sources.train).toBeUndefined();
  });

  it("reads a hand-written analysis.json that holds only the distribution", async () => {
    const dir = emptyDir();
    writeFileSync(join(dir, "analysis.json"), JSON.stringify({ distribution: { logic: 0.75, correctness: 0.25 } }));
    expect((await readSources(dir)).analysis).toEqual({ distribution: { logic: 0.75, correctness: 0.25 } });
  });
});

describe("HTML", () => {
  it("escapes example text, so a <script> in the data stays text", async () => {
    const html = readFileSync(await buildReport(demoAndTrainDir()), "utf8");
    expect(html).not.toContain(SCRIPT_TEXT);
    expect(html).toContain(escapeHtml(SCRIPT_TEXT));
    expect(escapeHtml(SCRIPT_TEXT)).toBe("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;");
  });

  it("highlights the changed words of a negative", () => {
    expect(diffHtml("The answer is 16.", "The answer is 15.")).toEqual({
      positive: 'The answer is <del class="diff-del">16</del>.',
      negative: 'The answer is <ins class="diff-add">15</ins>.',
    });
  });

  it.each([
    ["demo + train", demoAndTrainDir, DEMO_TRAIN_CHARTS],
    ["inject + analyze + eval", injectDir, INJECT_CHARTS],
  ])("gives every chart of the %s fixture a canvas and a configuration", async (_name, makeDir, expected) => {
    const html = readFileSync(await buildReport(makeDir()), "utf8");
    const ids = [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(expected);
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      charts: Record<string, unknown>;
    };
    expect(Object.keys(data.charts).sort()).toEqual([...ids].sort());
    // Self-contained: no script or link loads another file (the browser test checks the requests).
    expect(html.match(/<script[^>]+src=|<link(?![^>]+href="data:)/g)).toBeNull();
  });
});

describe("seapo report", () => {
  it("writes the report to --out and prints its path", async () => {
    const dir = demoAndTrainDir();
    const out = join(emptyDir(), "custom.html");
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const program = new Command().exitOverride();
      registerReportCommand(program);
      await program.parseAsync(["node", "seapo", "report", dir, "--out", out]);
      expect(log).toHaveBeenCalledWith(out);
    } finally {
      log.mockRestore();
    }
    expect(readFileSync(out, "utf8")).toMatch(/^<!doctype html>/);
  });
});
