/**
 * The trainer's options and refusals of issue 11 (finding 9): KL losses need a batch of two,
 * LD-DPO's α, F-DPO's flags from the rows' error types, KTO's class-weight range, dropout off by
 * default as in TRL, and KL partners that never share the row's prompt.
 */
import { writeFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, noGrad } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { InputError } from "../../src/errors.js";
import { parseLossSpec, parseTrainConfig, type TrainConfigInput } from "../../src/train/config.js";
import { readPreferenceRows, tokenizeRows, type TokenizedRows } from "../../src/train/data.js";
import { epochBatches } from "../../src/train/schedule.js";
import { completionLogps } from "../../src/train/reference.js";
import { batchRows } from "../../src/train/step.js";
import { train } from "../../src/train/train.js";
import { classWeightWarning, trainWarnings } from "../../src/train/warnings.js";
import { readJsonl } from "../helpers/cli.js";
import { tinyHfModel, tinyPreferences, writeTinyPreferenceFiles } from "../helpers/tiny-hf-model.js";

const paths = { model: "m", data: "d.jsonl", out: "o" };

function refusal(input: TrainConfigInput): InputError {
  try {
    parseTrainConfig(input);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("expected an InputError");
}

describe("KL losses and the batch size", () => {
  it("refuses kto with --batch-size 1, naming the field (TRL's KTOTrainer refuses it too)", () => {
    const error = refusal({ ...paths, loss: "kto", batchSize: 1 });
    expect(error.field).toBe("batchSize");
    expect(error.problem).toMatch(/--batch-size must be 2 or more \(got 1\)/);
  });
  it("accepts kto at 2 and a loss without KL rows at 1", () => {
    expect(parseTrainConfig({ ...paths, loss: "kto", batchSize: 2 }).batchSize).toBe(2);
    expect(parseTrainConfig({ ...paths, loss: "apo_zero_unpaired", batchSize: 1 }).batchSize).toBe(1);
  });
});

describe("KL partners", () => {
  let data: TokenizedRows & { kind: "unpaired" };
  beforeAll(async () => {
    // 50 prompts, 100 items: kto.jsonl holds each prompt's desirable and undesirable rows side by side.
    const files = await writeTinyPreferenceFiles(await mkdtemp(join(tmpdir(), "seapo-kl-")), 50);
    const hf = await loadHfModel(await tinyHfModel());
    const tokenized = tokenizeRows((await readPreferenceRows(files.kto)).data, hf.tokenizer, 2048).data;
    if (tokenized.kind !== "unpaired") throw new Error("items expected");
    data = tokenized;
  });
  /** Share of KL rows whose completion comes from a row of the same prompt, over the trainer's own batch plan. */
  const share = (partnerOf: (batch: number[], j: number) => number, batchSize: number) => {
    let [same, total] = [0, 0];
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const batch of epochBatches(data, { batchSize, seed: 42, lengthBucketing: true }, 42 + epoch, true)) {
        batch.forEach((row, j) => {
          total++;
          if (data.rows[partnerOf(batch, j)]!.prompt.join() === data.rows[row]!.prompt.join()) same++;
        });
      }
    }
    return same / total;
  };
  const partnerFromKeys = (batch: number[], j: number) => {
    const klRows = batchRows(data, batch, { kl: true }).slice(batch.length);
    return Number(klRows[j]!.key.split(">")[1]);
  };

  it.each([2, 4])("no KL row of a batch of %i shares its prompt (the +1 rotation alone pairs some)", (size) => {
    const rotation = (batch: number[], j: number) => batch[(j + batch.length - 1) % batch.length]!;
    expect(share(rotation, size)).toBeGreaterThan(0);
    expect(share(partnerFromKeys, size)).toBe(0);
  });

  it("skips back past a same-prompt neighbour: rows 0, 1 and 2, 3 are siblings", () => {
    const keys = batchRows(data, [0, 1, 2, 3], { kl: true })
      .slice(4)
      .map((r) => r.key);
    expect(keys).toEqual(["0>3", "1>3", "2>1", "3>1"]);
  });

  it("takes the KL completion from the row its key names, from outside a batch of one prompt", () => {
    const rows = batchRows(data, [4, 5], { kl: true }); // rows 4 and 5: prompt 2's two answers
    expect(rows.slice(2).map((r) => r.key)).toEqual(["4>6", "5>6"]);
    expect(rows[2]!.completion).toEqual(data.rows[6]!.completion);
    expect(rows[2]!.prompt).toEqual(data.rows[4]!.prompt);
  });
});

describe("KTO's class weights", () => {
  const kto = (params: Record<string, number>) => ({ name: "kto" as const, params: { beta: 0.1, ...params } });
  it.each([
    [10, 10, {}, false],
    [10, 10, { desirable_weight: 2 }, true],
    [30, 10, {}, true],
    // TRL's bounds for 30/10: desirable_weight in [0.33, 0.44]
    [30, 10, { desirable_weight: 0.34 }, false],
    [30, 10, { desirable_weight: 0.45 }, true],
    [30, 10, { undesirable_weight: 2.5 }, false],
    [30, 10, { undesirable_weight: 3.5 }, true],
  ] as const)("%i desirable, %i undesirable, %o: warns %s", (nd, nu, params, warns) => {
    expect(classWeightWarning(kto(params), nd, nu) !== undefined).toBe(warns);
  });
  it("names the ranges TRL recommends", () => {
    expect(classWeightWarning(kto({}), 30, 10)).toMatch(
      /desirable_weight in \[0\.33, 0\.44\] or undesirable_weight in \[2\.26, 3\]/,
    );
  });
});

describe("with the tiny model", () => {
  let model: string;
  let files: { kto: string; dpo: string };
  let dir: string;
  beforeAll(async () => {
    model = await tinyHfModel();
    dir = await mkdtemp(join(tmpdir(), "seapo-train-options-"));
    files = await writeTinyPreferenceFiles(dir, 6);
  });
  const quiet = { log: () => {} };
  const run = async (input: Omit<TrainConfigInput, "model" | "out">) => {
    const out = await mkdtemp(join(tmpdir(), "seapo-train-options-out-"));
    await train(parseTrainConfig({ model, out, logEvery: 1, saveAdapter: false, saveMerged: false, ...input }), quiet);
    return readJsonl<Record<string, number>>(join(out, "metrics.jsonl"));
  };

  it("LD-DPO with α = 0 scores each answer on its first min(|c|, |r|) tokens, policy and reference alike", async () => {
    const lines = await run({ data: files.dpo, loss: "sigmoid", ldAlpha: 0, batchSize: 6, gradAccum: 1, maxSteps: 1 });
    const hf = await loadHfModel(model);
    const base = LlamaModel.fromWeights(hf.config, hf.weights);
    const { data } = tokenizeRows((await readPreferenceRows(files.dpo)).data, hf.tokenizer, 2048);
    if (data.kind !== "paired") throw new Error("pairs expected");
    const shared = data.rows.map((r) => Math.min(r.chosen.length, r.rejected.length));
    expect(data.rows.some((r, i) => r.chosen.length !== shared[i] || r.rejected.length !== shared[i])).toBe(true);
    const cut = data.rows.map((r, i) => ({ prompt: r.prompt, completion: r.chosen.slice(0, shared[i]), key: `${i}` }));
    const expected = noGrad(() => completionLogps(base, cut).toArray());
    // Before the first update the LoRA policy is the base model, so every reward is 0.
    expect(lines[0]!["logps/chosen"]).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / expected.length, 3);
    expect(lines[0]!["rewards/margins"]).toBe(0);
  }, 30_000);

  it("refuses --ld-alpha with a loss that is not DPO-family", () => {
    expect(refusal({ ...paths, loss: "kto", ldAlpha: 0.5 }).field).toBe("ldAlpha");
    expect(refusal({ ...paths, loss: "sigmoid,sft:0.1", ldAlpha: 0.5 }).field).toBe("ldAlpha");
  });

  it("F-DPO reads each pair's hallucination flag from seapo.errorType", async () => {
    const types = ["hallucination", "logic", "hallucination", "correctness", "logic", "logic"];
    const rows = tinyPreferences(6).map((p, i) => ({ ...p, seapo: { errorType: types[i] } }));
    const file = join(dir, "fdpo.jsonl");
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const lines = await run({
      data: file,
      loss: "fdpo",
      beta: 0.1,
      lossParams: { fdpo: { delta: 5 } },
      batchSize: 6,
      gradAccum: 1,
      maxSteps: 1,
    });
    // Step 1: policy = reference, so each pair's margin is −λ·h_l and its loss −log σ(−β·λ·h_l).
    const expected = types.map((t) => Math.log1p(Math.exp(t === "hallucination" ? 0.5 : 0)));
    expect(lines[0]!.loss).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 6, 5);

    const bare = join(dir, "fdpo-bare.jsonl");
    await writeFile(bare, [JSON.stringify(rows[0]), JSON.stringify(tinyPreferences(2)[1])].join("\n") + "\n");
    const error = await run({ data: bare, loss: "fdpo", lossParams: { fdpo: { delta: 5 } }, maxSteps: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect([(error as InputError).line, (error as InputError).field]).toEqual([2, "seapo.errorType"]);
  }, 30_000);

  it("switches LoRA dropout off unless --no-disable-dropout, and says so", async () => {
    const base = { data: files.kto, lr: 1e-3, batchSize: 4, gradAccum: 1, maxSteps: 3 };
    const losses = async (extra: Omit<TrainConfigInput, "model" | "out" | "data">) =>
      (await run({ ...base, ...extra })).map((line) => line.loss);
    const none = await losses({ lora: { dropout: 0 } });
    expect(await losses({ lora: { dropout: 0.5 } })).toEqual(none);
    expect(await losses({ lora: { dropout: 0.5 }, disableDropout: false })).not.toEqual(none);
    const config = parseTrainConfig({ model, out: dir, ...base, lora: { dropout: 0.5 } });
    const hf = await loadHfModel(model);
    const { data } = tokenizeRows((await readPreferenceRows(files.kto)).data, hf.tokenizer, 2048);
    expect(trainWarnings(config, parseLossSpec(config.loss, config), data)).toEqual([
      expect.stringMatching(/--lora-dropout 0.5 has no effect/),
    ]);
  }, 30_000);
});
