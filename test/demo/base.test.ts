import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BASE_RECIPE_FILE,
  baseOptionsFor,
  buildBaseModel,
  defaultBaseOptions,
  type BaseModelOptions,
} from "../../src/demo/base.js";
import { SHIPPED_BASE_DIRS } from "../../src/demo/options.js";
import { buildCorpus, createWorld, generateTasks, worldVersions } from "../../src/demo/world/index.js";
import { crossEntropy, LlamaModel, noGrad } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { runCli } from "../helpers/cli.js";

/** A few steps of a very small model: enough to see determinism, cheap enough for every run. */
const small: BaseModelOptions = {
  ...defaultBaseOptions,
  hiddenSize: 32,
  numLayers: 1,
  numHeads: 2,
  numKvHeads: 1,
  intermediateSize: 64,
  vocabSize: 300,
  seqLen: 48,
  batchSize: 4,
  pretrainSteps: 4,
  sftSteps: 4,
  tokenizerChars: 20_000,
};

describe("the demo's base model", () => {
  it("is rebuilt bit for bit by the same recipe, and differs with another seed", async () => {
    const root = await mkdtemp(join(tmpdir(), "seapo-base-"));
    const a = await buildBaseModel(join(root, "a"), small);
    const b = await buildBaseModel(join(root, "b"), small);
    const c = await buildBaseModel(join(root, "c"), { ...small, modelSeed: small.modelSeed + 1 });
    expect(a.weightsSha256).toBe(b.weightsSha256);
    expect(c.weightsSha256).not.toBe(a.weightsSha256);
    expect(Number.isFinite(a.losses.pretrain) && Number.isFinite(a.losses.sft)).toBe(true);
    const model = await loadHfModel(join(root, "a"));
    expect(model.config.hiddenSize).toBe(32);
    expect(
      model.tokenizer.applyChatTemplate([{ role: "user", content: "hi" }], { addGenerationPrompt: true }),
    ).toContain("<|im_start|>assistant");
  }, 120_000);

  it("`seapo demo build-base DIR --world 2` writes world 2's model with its recipe and weights hash", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "seapo-base-cli-")), "base");
    // --world after the subcommand is build-base's, not `demo`'s (which also takes --world).
    const result = await runCli([
      "demo",
      "build-base",
      dir,
      "--pretrain-steps",
      "2",
      "--sft-steps",
      "2",
      "--world",
      "2",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const recipe = JSON.parse(readFileSync(join(dir, BASE_RECIPE_FILE), "utf8")) as {
      weightsSha256: string;
      options: BaseModelOptions;
    };
    expect(recipe.options).toEqual({ ...baseOptionsFor(2), pretrainSteps: 2, sftSteps: 2 });
    expect(
      createHash("sha256")
        .update(readFileSync(join(dir, "model.safetensors")))
        .digest("hex"),
    ).toBe(recipe.weightsSha256);
    expect(result.stdout).toContain(recipe.weightsSha256);
  }, 120_000);

  it("rehearses the corpus during SFT when the recipe asks, which keeps the corpus loss lower", async () => {
    const root = await mkdtemp(join(tmpdir(), "seapo-base-"));
    const recipe = { ...small, pretrainSteps: 20, sftSteps: 20 };
    await buildBaseModel(join(root, "plain"), recipe);
    await buildBaseModel(join(root, "rehearsed"), { ...recipe, sftReplayEvery: 1 });
    const world = createWorld(recipe.worldSeed);
    const documents = buildCorpus(world, generateTasks(world)).documents.slice(0, 16);
    const corpusLoss = async (dir: string): Promise<number> => {
      const { config, weights, tokenizer } = await loadHfModel(dir);
      const model = LlamaModel.fromWeights(config, weights);
      const ids = documents.map((doc) => tokenizer.encode(doc, { addSpecialTokens: false }).slice(0, 33));
      const T = Math.min(...ids.map((row) => row.length)) - 1;
      const logits = noGrad(() => model.forward(ids.map((row) => row.slice(0, T))));
      return crossEntropy(
        logits,
        ids.map((row) => row.slice(1, T + 1)),
      ).item();
    };
    const plain = await corpusLoss(join(root, "plain"));
    const rehearsed = await corpusLoss(join(root, "rehearsed"));
    expect(rehearsed).toBeLessThan(plain - 0.05);
  }, 120_000);

  for (const world of worldVersions) {
    it(`ships world ${world}'s checkpoint, at most 10 MB, whose weights match its recorded recipe`, () => {
      const dir = SHIPPED_BASE_DIRS[world];
      const recipe = JSON.parse(readFileSync(join(dir, BASE_RECIPE_FILE), "utf8")) as {
        weightsSha256: string;
        options: BaseModelOptions;
        command: string;
      };
      const weights = join(dir, "model.safetensors");
      expect(existsSync(weights)).toBe(true);
      expect(statSync(weights).size).toBeLessThanOrEqual(10 * 1024 * 1024);
      expect(createHash("sha256").update(readFileSync(weights)).digest("hex")).toBe(recipe.weightsSha256);
      expect(recipe.options).toEqual(baseOptionsFor(world));
      expect(recipe.command).toBe("seapo demo build-base");
    });
  }
});
