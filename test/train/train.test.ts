import { existsSync, readdirSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { LlamaModel, noGrad } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { parseTrainConfig } from "../../src/train/config.js";
import { readPreferenceRows, tokenizeRows } from "../../src/train/data.js";
import { completionLogps } from "../../src/train/reference.js";
import { lrAt, train } from "../../src/train/train.js";
import { readJsonl, runCli, startCli } from "../helpers/cli.js";
import { tinyHfModel, writeTinyMultiFile, writeTinyPreferenceFiles } from "../helpers/tiny-hf-model.js";

describe("lrAt", () => {
  const base = { lr: 1, warmupSteps: 0, totalSteps: 10, minLrRatio: 0 };
  it.each([
    ["cosine", 0, 1],
    ["cosine", 5, 0.5],
    ["cosine", 10, 0],
    ["linear", 0, 1],
    ["linear", 5, 0.5],
    ["constant", 9, 1],
  ] as const)("%s at step %i is %f", (schedule, step, lr) => {
    expect(lrAt(step, { ...base, schedule })).toBeCloseTo(lr, 12);
  });
  it("warms up linearly from 0, then decays to the floor", () => {
    const s = { lr: 2, warmupSteps: 4, totalSteps: 14, minLrRatio: 0.1, schedule: "cosine" as const };
    expect([0, 2, 4].map((step) => lrAt(step, s))).toEqual([0, 1, 2]);
    expect(lrAt(14, s)).toBeCloseTo(0.2, 12);
  });
});

/** Mean over pairs of log p(chosen) − log p(rejected), each summed over the completion. */
async function margin(modelDir: string, dpoFile: string): Promise<number> {
  const hf = await loadHfModel(modelDir);
  const model = LlamaModel.fromWeights(hf.config, hf.weights);
  const { data } = tokenizeRows((await readPreferenceRows(dpoFile)).data, hf.tokenizer, 512);
  if (data.kind !== "paired") throw new Error("expected pairs");
  const chosen = data.rows.map((r, i) => ({ prompt: r.prompt, completion: r.chosen, key: `c${i}` }));
  const rejected = data.rows.map((r, i) => ({ prompt: r.prompt, completion: r.rejected, key: `r${i}` }));
  const [c, r] = noGrad(() => [completionLogps(model, chosen).toArray(), completionLogps(model, rejected).toArray()]);
  return c!.reduce((s, v, i) => s + v - r![i]!, 0) / c!.length;
}

describe("train", () => {
  let model: string;
  let other: string;
  let files: { kto: string; dpo: string; multi: string };
  beforeAll(async () => {
    model = await tinyHfModel();
    other = await tinyHfModel(2);
    const dir = await mkdtemp(join(tmpdir(), "seapo-train-"));
    files = { ...(await writeTinyPreferenceFiles(dir, 12)), multi: await writeTinyMultiFile(dir, 12) };
  });

  it("KTO raises the chosen-over-rejected log-prob margin", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-train-out-"));
    const config = parseTrainConfig({
      model,
      data: files.kto,
      out,
      lr: 1e-3,
      epochs: 6,
      batchSize: 4,
      gradAccum: 1,
      logEvery: 5,
      saveEvery: 1000,
    });
    const summary = await train(config, { log: () => {} });
    const before = await margin(model, files.dpo);
    const after = await margin(join(out, "model"), files.dpo);
    expect(after).toBeGreaterThan(before + 1);
    expect(summary.steps).toBe(36);
    for (const file of [
      "metrics.jsonl",
      "run.json",
      "adapter/adapter_config.json",
      "adapter/adapter_model.safetensors",
      "model/config.json",
    ])
      expect(existsSync(join(out, file))).toBe(true);
    const lines = readJsonl(join(out, "metrics.jsonl"));
    expect(Object.keys(lines[0]!)).toEqual(
      expect.arrayContaining(["loss", "kl", "grad_norm", "learning_rate", "tokens/s", "elapsed", "entropy"]),
    );
  }, 30_000);

  it("reports each step through onStep (a metrics line on log steps), draws nothing itself, and returns the model/ folder's weights", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-train-callbacks-"));
    const config = parseTrainConfig({
      model,
      data: files.kto,
      out,
      maxSteps: 5,
      batchSize: 4,
      gradAccum: 1,
      logEvery: 2,
    });
    const steps: Array<[number, number | undefined]> = [];
    const starts: unknown[] = [];
    const written = vi.spyOn(process.stderr, "write");
    const summary = await train(config, {
      log: () => {},
      onStart: (range) => starts.push(range),
      onStep: (step, metrics) => steps.push([step, metrics?.step]),
    });
    const stderrCalls = written.mock.calls.length;
    written.mockRestore();
    expect(stderrCalls).toBe(0);
    expect(starts).toEqual([{ startStep: 0, totalSteps: 5 }]);
    expect(steps).toEqual([
      [1, undefined],
      [2, 2],
      [3, undefined],
      [4, 4],
      [5, 5],
    ]);
    const saved = await loadHfModel(join(out, "model"));
    expect([...summary.model.weights.keys()].sort()).toEqual([...saved.weights.keys()].sort());
    for (const [name, t] of saved.weights) expect(summary.model.weights.get(name)!.data, name).toEqual(t.data);
    expect(summary.model.config).toEqual(saved.config);
  }, 30_000);

  it("cached reference log-probs give the same losses as the adapter-disabled reference (paired, weighted losses)", async () => {
    const run = async (reference: "cached" | "adapter-disabled") => {
      const out = await mkdtemp(join(tmpdir(), "seapo-train-ref-"));
      const config = parseTrainConfig({
        model,
        data: files.dpo,
        out,
        loss: "sigmoid:1,sft:0.1",
        reference,
        lr: 1e-3,
        maxSteps: 4,
        batchSize: 2,
        gradAccum: 1,
        logEvery: 1,
        saveMerged: false,
        saveAdapter: false,
      });
      await train(config, { log: () => {} });
      return readJsonl<{ loss: number }>(join(out, "metrics.jsonl")).map((line) => line.loss);
    };
    const cached = await run("cached");
    const live = await run("adapter-disabled");
    cached.forEach((loss, i) => expect(loss).toBeCloseTo(live[i]!, 4));
  }, 30_000);

  it.each([
    ["kto", () => ["--data", files.kto]],
    // The issue-11 options: LD-DPO's weights and a reference from another folder, read live on resume.
    [
      "dpo --ld-alpha --ref-model",
      () => ["--data", files.dpo, "--loss", "sigmoid", "--ld-alpha", "0.5", "--ref-model", other],
    ],
    // Several negatives per prompt (dpo_multi.jsonl, K = 1..3), the reference cached before the first step.
    [
      "listwise_pl,sft:0.1 --reference cached",
      () => ["--data", files.multi, "--loss", "listwise_pl,sft:0.1", "--reference", "cached"],
    ],
  ] as const)(
    "%s: a run killed after a checkpoint and resumed repeats the uninterrupted losses exactly",
    async (_name, data) => {
      const args = (out: string) => [
        "train",
        "--model",
        model,
        ...data(),
        "--out",
        out,
        "--lr",
        "1e-3",
        "--max-steps",
        "30",
        "--batch-size",
        "2",
        "--grad-accum",
        "2",
        "--lora-dropout",
        "0.1",
        "--no-disable-dropout",
        "--log-every",
        "1",
        "--save-every",
        "3",
        "--no-merged",
        "--no-adapter",
      ];
      const whole = await mkdtemp(join(tmpdir(), "seapo-train-whole-"));
      expect((await runCli(args(whole))).code).toBe(0);

      const broken = await mkdtemp(join(tmpdir(), "seapo-train-broken-"));
      const { child, done } = startCli(args(broken));
      const checkpoints = join(broken, "checkpoints");
      while (!(existsSync(checkpoints) && readdirSync(checkpoints).some((name) => name.startsWith("step-"))))
        await new Promise((r) => setTimeout(r, 10));
      child.kill("SIGKILL");
      const killed = await done;
      expect(killed.code).toBe(null);

      const resumed = await runCli([...args(broken), "--resume"]);
      expect(resumed.code, resumed.stderr).toBe(0);
      const resumedAt = Number(/resumed at step (\d+)/.exec(resumed.stdout)?.[1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThan(30);

      // TRL's num_tokens is cumulative, so the resumed run counts the steps before its checkpoint too.
      const losses = (dir: string) =>
        readJsonl<{ step: number; loss: number; num_tokens: number }>(join(dir, "metrics.jsonl")).map(
          ({ step, loss, num_tokens }) => [step, loss, num_tokens],
        );
      expect(losses(broken)).toEqual(losses(whole));
      expect(losses(whole)).toHaveLength(30);
    },
    120_000,
  );
});
