import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, noGrad } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { SeapoError } from "../../src/errors.js";
import { CHECKPOINT_DIR, listCheckpoints, loadLatestCheckpoint } from "../../src/train/checkpoint.js";
import { parseTrainConfig } from "../../src/train/config.js";
import { readPreferenceRows, tokenizeRows } from "../../src/train/data.js";
import { completionLogps } from "../../src/train/reference.js";
import { train } from "../../src/train/train.js";
import { runCli } from "../helpers/cli.js";
import { tinyHfModel, writeTinyPreferenceFiles } from "../helpers/tiny-hf-model.js";

/**
 * A learning rate of 1e30 really drives the tiny model to a NaN loss. With 4 warm-up steps the
 * first step runs at lr 0 (a good checkpoint at step 1), the second at 2.5e29, and the loss of
 * step 3 is NaN: the checkpoint of step 2 holds the weights that gave it.
 */
const STOPPED = /^training stopped: the (loss|gradient norm) is (NaN|-?Infinity) at step (\d+)/;

describe("a non-finite loss stops the run", () => {
  let model: string;
  let files: { kto: string; dpo: string };
  beforeAll(async () => {
    model = await tinyHfModel();
    files = await writeTinyPreferenceFiles(await mkdtemp(join(tmpdir(), "seapo-nan-")), 12);
  });
  const config = (out: string, warmupSteps: number) =>
    parseTrainConfig({
      model,
      data: files.kto,
      out,
      lr: 1e30,
      warmupSteps,
      maxSteps: 20,
      batchSize: 2,
      gradAccum: 1,
      logEvery: 1,
      saveEvery: 1,
      keepCheckpoints: 5,
      saveMerged: false,
      saveAdapter: false,
    });

  it("names the step and keeps the last good checkpoint, which loads and scores finitely", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-nan-out-"));
    const error = await train(config(out, 4), { log: () => {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SeapoError);
    const message = (error as Error).message;
    const step = Number(STOPPED.exec(message)?.[3]);
    expect(step, message).toBeGreaterThan(1);
    expect(message).toContain("Nothing from this step was saved");

    // The checkpoint of the weights that gave the NaN is set aside; every earlier one stays.
    const good = listCheckpoints(out);
    expect(good).toEqual(Array.from({ length: step - 2 }, (_, i) => i + 1));
    const goodDir = join(out, CHECKPOINT_DIR, `step-${String(step - 2).padStart(6, "0")}`);
    const asideDir = join(out, CHECKPOINT_DIR, `diverged-step-${String(step - 1).padStart(6, "0")}`);
    expect(message).toContain(`The last good checkpoint is ${goodDir}.`);
    expect(message).toContain(`moved to ${asideDir}`);
    expect(existsSync(join(asideDir, "params.safetensors"))).toBe(true);

    const checkpoint = (await loadLatestCheckpoint(out))!;
    expect(checkpoint.dir).toBe(goodDir);
    expect(checkpoint.state.step).toBe(step - 2);
    for (const [name, tensor] of checkpoint.params) expect(tensor.data.every(Number.isFinite), name).toBe(true);
    for (const [name, state] of Object.entries(checkpoint.optimizer.params))
      expect([...state.m, ...state.v].every(Number.isFinite), name).toBe(true);

    // Loaded into the model, the good adapter gives finite log-probs on the training rows.
    const hf = await loadHfModel(model);
    const policy = LlamaModel.fromWeights(hf.config, hf.weights);
    policy.applyLora({ rank: 8, alpha: 16, dropout: 0, seed: 42 });
    policy.loadParameters(checkpoint.params);
    const { data } = tokenizeRows((await readPreferenceRows(files.kto)).data, hf.tokenizer, 512);
    if (data.kind !== "unpaired") throw new Error("expected unpaired rows");
    const logps = noGrad(() =>
      completionLogps(
        policy,
        data.rows.slice(0, 4).map((r, i) => ({ prompt: r.prompt, completion: r.completion, key: `${i}` })),
      ),
    );
    expect(logps.toArray().every(Number.isFinite)).toBe(true);
  }, 60_000);

  it("says so when no good checkpoint is left", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-nan-none-"));
    // Without warm-up the first update already ruins the weights: step 1's checkpoint is set aside.
    await expect(train(config(out, 0), { log: () => {} })).rejects.toThrow(
      /at step 2\b.*was moved to .*diverged-step-000001\. The last good checkpoint is none\./s,
    );
    expect(listCheckpoints(out)).toEqual([]);
  }, 60_000);

  it("the CLI prints the message and exits 1, without a stack", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-nan-cli-"));
    const result = await runCli([
      "train",
      "--model",
      model,
      "--data",
      files.kto,
      "--out",
      out,
      "--lr",
      "1e30",
      "--warmup-steps",
      "4",
      "--max-steps",
      "20",
      "--batch-size",
      "2",
      "--grad-accum",
      "1",
      "--save-every",
      "1",
      "--keep-checkpoints",
      "5",
      "--no-merged",
      "--no-adapter",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/seapo: training stopped: the (loss|gradient norm) is (NaN|-?Infinity) at step \d+/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(listCheckpoints(out).length).toBeGreaterThan(0);
  }, 60_000);
});
