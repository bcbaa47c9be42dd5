import { existsSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { armSpecs } from "../../src/demo/arms.js";
import { demoResultsSchema } from "../../src/demo/results.js";
import { dimensions } from "../../src/demo/world/index.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { startTestServer } from "../helpers/openai-server.js";
import { injectorReply } from "../helpers/scripted-injector.js";

describe("seapo demo --quick", () => {
  it("runs the experiment end to end and writes results for every arm and a report", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "seapo-demo-")), "demo");
    const result = await runCli(["demo", "--quick", "--out", out]);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(result.stdout).toContain(join(out, "report.html"));

    const results = demoResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    expect(results.arms.map((a) => a.name)).toEqual(armSpecs("quick").map((a) => a.name));
    for (const arm of results.arms) {
      expect(Object.keys(arm.scores).sort()).toEqual([...dimensions].sort());
      for (const s of Object.values(arm.scores)) {
        expect(s.mean).toBeGreaterThanOrEqual(0);
        expect(s.mean).toBeLessThanOrEqual(1);
      }
      const mix = arm.errorMix.correct + arm.errorMix.correctness + arm.errorMix.logic + arm.errorMix.hallucination;
      expect(mix).toBeCloseTo(1, 6);
      if (arm.method !== "base") {
        expect(arm.trainRows).toBeGreaterThan(0);
        expect(arm.curves[0]!.points.length).toBeGreaterThan(0);
      }
    }
    // The base model is decent but wrong often enough to have errors to learn from.
    const base = results.arms[0]!;
    expect(base.average.mean).toBeGreaterThan(0.1);
    expect(base.errorMix.correct).toBeLessThan(0.95);
    // analyze classified the base model's wrong answers, and the counts add up.
    const judged = readJsonl<{ correct: boolean; errorType: string | null }>(join(out, "analyze", "judgments.jsonl"));
    expect(judged.length).toBe(results.analysis.answers);
    expect(Object.values(results.analysis.byType).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(
      results.analysis.wrong,
    );
    // Every trained arm's data is in the data engine's conversational formats, so training sees the
    // chat template the base model was fine-tuned and is tested with.
    type Turn = { role: string; content: string };
    const kto = readJsonl<{ prompt: Turn[]; completion: Turn[]; label: boolean }>(
      join(out, "arms", "seapo-mixed-kto", "seed-1", "data", "kto_conversational.jsonl"),
    );
    expect(kto.some((r) => r.label) && kto.some((r) => !r.label)).toBe(true);
    expect(kto.every((r) => r.prompt.at(-1)?.role === "user" && r.completion[0]?.role === "assistant")).toBe(true);
    expect(results.examples.length).toBeGreaterThan(0);
    expect(existsSync(join(out, "report.html"))).toBe(true);
    // Per-item outcomes for every arm, aligned with the test items, and the intervals drawn from them.
    const tested = results.testItems!;
    expect(tested).toHaveLength(24 * dimensions.length);
    expect(results.outcomes!.map((o) => o.arm)).toEqual(results.arms.map((a) => a.name));
    for (const o of results.outcomes!) expect(o.correct).toHaveLength(tested.length);
    const baseRow = results.outcomes![0]!.correct;
    expect(results.uncertainty!.accuracy.base!.average.estimate).toBeCloseTo(base.average.mean, 12);
    expect([...baseRow].filter((c) => c === "1").length / tested.length).toBeCloseTo(base.errorMix.correct, 12);
    const pairs = results.vanilla!.perSeed[0]!;
    expect(pairs.informative + pairs.bothRight + pairs.bothWrong + pairs.reversed).toBe(pairs.pairs);
    expect(pairs.pairs).toBe(24 * dimensions.length);
    // Issue 14's diagnostics: the world, the base model's log-prob of SeaPO's negatives and of its own
    // wrong samples, and per trained arm the held-out gold log-prob before and after training.
    expect(results.world).toEqual({ version: 1, seed: 1 });
    expect(results.config.profile).toBe("quick");
    const [plausible] = results.plausibility!;
    expect(plausible!.seapo.n).toBe(results.arms.find((a) => a.name === "seapo-mixed-kto")!.trainRows);
    expect(plausible!.sampledWrong.n).toBe(2 * pairs.bothWrong + pairs.informative + pairs.reversed);
    expect(plausible!.gold.mean!).toBeGreaterThan(plausible!.seapo.mean!);
    for (const arm of results.arms.filter((a) => a.method !== "base")) {
      const [gold] = arm.heldOutGold!;
      expect(gold!.before).toBe(results.arms[1]!.heldOutGold![0]!.before);
      expect(gold!.after).not.toBe(gold!.before);
    }
    const dpoCurve = results.arms.find((a) => a.name === "vanilla-dpo")!.curves[0]!.points;
    expect(dpoCurve.every((p) => p.chosenLogp! < 0 && p.rejectedLogp! < 0)).toBe(true);
    // The verdict closes stdout: mixed SeaPO against vanilla, then against base.
    expect(result.stdout).toMatch(/^verdict, five-dimension average .*seapo-mixed-kto .*vanilla-kto .*base /m);
    expect(result.stdout).toMatch(/^ {2}seapo-mixed-kto − vanilla-kto: [+−]\d+\.\d points \[/m);
    expect(result.stdout).toMatch(/^ {2}seapo-mixed-kto − base: [+−]\d+\.\d points \[/m);
  }, 600_000);

  it("--injector llm writes SeaPO's negatives through seapo inject with a real OpenAI-compatible server", async () => {
    const server = await startTestServer(injectorReply);
    try {
      const out = join(await mkdtemp(join(tmpdir(), "seapo-demo-llm-")), "demo");
      const args = [
        "demo",
        "--quick",
        "--out",
        out,
        "--injector",
        "llm",
        "--base-url",
        server.baseURL,
        "--model",
        "scripted-injector",
      ];
      const result = await runCli([...args, "--steps", "2", "--train-per-dimension", "4", "--test-per-dimension", "3"]);
      expect(result.code, result.stderr.slice(-3000)).toBe(0);
      const results = demoResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
      expect(results.config.injector).toBe("scripted-injector");
      expect(results.arms.map((a) => a.name)).toEqual(armSpecs("quick").map((a) => a.name));
      // mixed asks for every type per prompt (and keeps one); most-common's requests are a subset,
      // answered from the shared request cache: each (prompt, type) reaches the server once.
      expect(server.requests.length).toBe(20 * 3);
      const negatives = readJsonl<{ injector: string; errorType: string }>(
        join(out, "inject", "seed-1", "mixed", "negatives.jsonl"),
      );
      expect(negatives.length).toBeGreaterThan(0);
      expect(negatives.every((n) => n.injector === "scripted-injector")).toBe(true);
      const dpo = readJsonl<{ prompt: string; chosen: string; rejected: string }>(
        join(out, "inject", "seed-1", "mixed", "dpo.jsonl"),
      );
      expect(results.arms.find((a) => a.name === "seapo-mixed-dpo")!.trainRows).toBe(dpo.length);
    } finally {
      await server.close();
    }
  }, 300_000);
});
