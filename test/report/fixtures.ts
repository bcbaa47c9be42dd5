/**
 * Run directories for the report tests, each built through the schemas the writers use, so a
 * fixture that drifts from the real files fails here first.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoResultsSchema, type ArmResult, type DemoResults } from "../../src/demo/index.js";
import { evalResultsSchema } from "../../src/eval/index.js";
import { toJsonLines } from "../../src/io/index.js";
import {
  MANIFEST_FILE,
  analysisFileSchema,
  negativeRecordSchema,
  rejectRecordSchema,
  runManifestSchema,
} from "../../src/negatives/index.js";
import { metricsLineSchema, trainConfigSchema, trainRunFileSchema } from "../../src/train/index.js";

export const DIMENSIONS = ["knowledge", "math", "reasoning", "truthfulness", "code"];
const SEEDS = [0, 1];

function spread(values: number[]) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, std, perSeed: values };
}

function arm(name: string, method: ArmResult["method"], lift: number, extra: Partial<ArmResult> = {}): ArmResult {
  const scores = Object.fromEntries(
    DIMENSIONS.map((d, i) => [d, spread([0.45 + 0.05 * i + lift, 0.5 + 0.05 * i + lift])]),
  );
  const trained = method !== "base";
  return {
    name,
    method,
    scores,
    mc1: spread([0.3 + lift, 0.34 + lift]),
    mc2: spread([0.45 + lift, 0.47 + lift]),
    average: spread([0.55 + lift, 0.6 + lift]),
    errorMix: { correct: 0.55 + lift, correctness: 0.2 - lift / 2, logic: 0.15 - lift / 2, hallucination: 0.1 },
    curves: trained
      ? SEEDS.map((seed) => ({
          seed,
          points: Array.from({ length: 10 }, (_, k) => ({
            step: 10 * (k + 1),
            loss: 0.69 - 0.03 * k - 0.01 * seed,
            margin: 0.1 * k * (1 + lift),
          })),
        }))
      : [],
    trainRows: trained ? 400 : 0,
    ...extra,
  };
}

export const SCRIPT_TEXT = "<script>alert('x')</script>";

export function demoResults(): DemoResults {
  return demoResultsSchema.parse({
    version: 1,
    config: { seeds: SEEDS, steps: 100, lr: 2e-5, beta: 0.1, world: { countries: 60 } },
    seeds: SEEDS,
    dimensions: DIMENSIONS,
    arms: [
      arm("base", "base", 0),
      arm("vanilla-dpo", "vanilla", 0.01, { loss: "dpo" }),
      arm("seapo-mixed-dpo", "seapo", 0.04, { strategy: "mixed", loss: "dpo" }),
      arm("seapo-most-common-kto", "seapo", 0.03, { strategy: "most-common", loss: "kto" }),
    ],
    analysis: { answers: 300, wrong: 135, byType: { correctness: 70, logic: 45, hallucination: 20 } },
    examples: [
      {
        errorType: "correctness",
        dimension: "math",
        prompt: "What is 12 + 7 - 3?",
        positive: "12 + 7 = 19, and 19 - 3 = 16. The answer is 16.",
        negative: "12 + 7 = 18, and 18 - 3 = 15. The answer is 15.",
      },
      {
        errorType: "hallucination",
        dimension: "knowledge",
        prompt: `Explain ${SCRIPT_TEXT} in a page`,
        positive: `Text with ${SCRIPT_TEXT} inside & more.`,
        negative: `Text with ${SCRIPT_TEXT} outside & more.`,
      },
    ],
    timings: [
      { stage: "sft", seconds: 120.5 },
      { stage: "arms", seconds: 310.2 },
      { stage: "eval", seconds: 42 },
    ],
    finishedAt: "2026-11-30T12:00:00.000Z",
  });
}

/** Charts the demo + train directory draws: scores, MC, error mix, loss, margin; train loss, rewards. */
export const DEMO_TRAIN_CHARTS = 5 + 2;
/** Charts the inject + analyze + eval directory draws: types, reasons; analysis. */
export const INJECT_CHARTS = 2 + 1;

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function writeJsonl(file: string, rows: unknown[]): void {
  writeFileSync(file, toJsonLines(rows));
}

export function metricsLines(): Array<Record<string, number>> {
  const lines: Array<Record<string, number>> = [];
  for (let step = 10; step <= 60; step += 10) {
    const k = step / 10;
    lines.push({
      step,
      epoch: k / 6,
      loss: 0.69 - 0.05 * k,
      "rewards/chosen": -0.01 * k,
      "rewards/rejected": -0.2 * k,
      "rewards/margins": 0.19 * k,
      "rewards/accuracies": 0.5 + 0.05 * k,
      lr: 5e-6,
      "tokens/s": 900,
      elapsed: 3 * k,
    });
    if (step % 30 === 0) lines.push({ step, eval_loss: 0.7 - 0.04 * k, "eval_rewards/margins": 0.15 * k });
  }
  return lines;
}

/** results.json of seapo demo next to metrics.jsonl and run.json of seapo train. */
export function demoAndTrainDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "seapo-report-"));
  writeJson(join(dir, "results.json"), demoResults());
  writeJsonl(
    join(dir, "metrics.jsonl"),
    metricsLines().map((line) => metricsLineSchema.parse(line)),
  );
  const config = trainConfigSchema.parse({
    model: "models/tiny",
    data: "out/neg/dpo.jsonl",
    out: dir,
    loss: "sigmoid",
  });
  writeJson(
    join(dir, "run.json"),
    trainRunFileSchema.parse({
      config,
      resolved: {
        referenceMode: "adapter-disabled",
        totalSteps: 60,
        stepsPerEpoch: 10,
        warmupSteps: 0,
        effectiveBatch: 16,
        losses: [{ name: "dpo_sigmoid" }],
      },
      data: {
        file: config.data,
        sha256: "ab".repeat(32),
        rows: 160,
        kind: "paired",
        rejected: 0,
        dropped: 0,
        truncated: 2,
      },
      versions: { seapo: "0.1.0", node: "v20.19.0" },
      trainableParameters: 1_000_000,
      status: "completed",
      elapsedSeconds: 18.5,
    }),
  );
  return dir;
}

/** The journals of seapo inject (no stats.json: counts come from the journals), analysis.json and an eval results file. */
export function injectDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "seapo-report-inject-"));
  const provenance = { injector: "Qwen2.5-7B-Instruct", templateVersion: "inject-v1", seed: 0 };
  const usage = { inputTokens: 200, outputTokens: 60 };
  const negatives = [
    {
      sourceId: "27808",
      errorType: "correctness",
      prompt: "How long do I grill a T-bone?",
      history: [],
      chosen: "A T-bone steak (1.5 to 2 lbs) needs 4 minutes a side.",
      rejected: "A T-bone steak (8.5 to 2 lbs) needs 4 minutes a side.",
      ...provenance,
      usage,
    },
    {
      sourceId: "27808",
      errorType: "logic",
      prompt: "How long do I grill a T-bone?",
      history: [],
      chosen: "Thicker cuts need longer, so a 2 inch steak needs more time.",
      rejected: "Thicker cuts need longer, so a 2 inch steak needs less time.",
      ...provenance,
      usage,
    },
  ];
  writeJsonl(
    join(dir, "negatives.jsonl"),
    negatives.map((line) => negativeRecordSchema.parse(line)),
  );
  const rejects = [
    {
      sourceId: "1",
      errorType: "correctness",
      prompt: "Translate to Japanese",
      chosen: "こんにちは",
      candidate: "こんにちは",
      reason: "identical",
      detail: "same as the positive",
      ...provenance,
      usage,
    },
    { reason: "invalid-input", detail: "prompt: must be a non-empty string", line: 7, raw: {} },
  ];
  writeJsonl(
    join(dir, "rejects.jsonl"),
    rejects.map((line) => rejectRecordSchema.parse(line)),
  );
  writeJson(join(dir, MANIFEST_FILE), injectManifest());
  writeJson(
    join(dir, "analysis.json"),
    analysisFileSchema.parse({
      judge: "judge-model",
      templateVersion: "judge-v1",
      total: 7,
      correct: 2,
      wrong: 5,
      unclassified: 0,
      counts: { correctness: 1, logic: 3, hallucination: 1 },
      distribution: { correctness: 0.2, logic: 0.6, hallucination: 0.2 },
      mostCommon: "logic",
    }),
  );
  writeJson(
    join(dir, "eval-base.json"),
    evalResultsSchema.parse({
      format: "seapo-eval-results",
      formatVersion: 1,
      seapoVersion: "0.1.0",
      promptFormatVersion: "1",
      createdAt: "2026-11-30T12:00:00.000Z",
      model: { kind: "other", provider: "test", modelId: "tiny-base" },
      config: {},
      data: { dir: "data", files: {} },
      requests: { total: 20 },
      durationMs: 1000,
      results: {
        arc_challenge: {
          n: 10,
          metrics: { acc: { value: 0.4, stderr: 0.16 }, acc_norm: { value: 0.5, stderr: 0.17 } },
        },
        gsm8k: { n: 10, metrics: { exact_match: { value: 0.2, stderr: null } } },
      },
    }),
  );
  return dir;
}

/** The manifest.json of seapo inject (older runs kept the same object in run.json). */
export function injectManifest() {
  return runManifestSchema.parse({
    identity: { input: "uf4.jsonl", strategy: "all:correctness,logic,hallucination" },
    command: "inject",
    updatedAt: "2026-11-30T12:00:00.000Z",
  });
}
