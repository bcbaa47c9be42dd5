/** --ref-model and --ref-adapter: the reference is another folder, or the base with an adapter merged in (finding 10). */
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, noGrad } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { InputError } from "../../src/errors.js";
import { parseTrainConfig, type TrainConfigInput } from "../../src/train/config.js";
import { readPreferenceRows, tokenizeRows } from "../../src/train/data.js";
import { completionLogps } from "../../src/train/reference.js";
import { train } from "../../src/train/train.js";
import { readJsonl } from "../helpers/cli.js";
import { tinyHfModel, writeTinyPreferenceFiles } from "../helpers/tiny-hf-model.js";

let model: string;
let other: string;
let dpo: string;
beforeAll(async () => {
  [model, other] = [await tinyHfModel(1), await tinyHfModel(2)];
  dpo = (await writeTinyPreferenceFiles(await mkdtemp(join(tmpdir(), "seapo-ref-")), 6)).dpo;
});

const beta = 0.1;
async function firstLine(input: Omit<TrainConfigInput, "model" | "data" | "out">, out?: string) {
  const dir = out ?? (await mkdtemp(join(tmpdir(), "seapo-ref-out-")));
  const settings = { model, data: dpo, out: dir, loss: "sigmoid", beta, batchSize: 6, gradAccum: 1, logEvery: 1 };
  await train(parseTrainConfig({ ...settings, maxSteps: 1, saveMerged: false, saveAdapter: false, ...input }), {
    log: () => {},
  });
  return readJsonl<Record<string, number>>(join(dir, "metrics.jsonl"))[0]!;
}

/** β·mean(ℓ_policy − ℓ_ref) of the chosen answers, computed here from two model folders. */
async function chosenReward(policyDir: string, referenceDir: string): Promise<number> {
  const hf = await loadHfModel(policyDir);
  const { data } = tokenizeRows((await readPreferenceRows(dpo)).data, hf.tokenizer, 2048);
  if (data.kind !== "paired") throw new Error("pairs expected");
  const rows = data.rows.map((r, i) => ({ prompt: r.prompt, completion: r.chosen, key: `${i}` }));
  const score = async (dir: string) => {
    const m = await loadHfModel(dir);
    return noGrad(() => completionLogps(LlamaModel.fromWeights(m.config, m.weights), rows).toArray());
  };
  const [p, r] = [await score(policyDir), await score(referenceDir)];
  return (beta * p.reduce((s, v, i) => s + v - r[i]!, 0)) / p.length;
}

describe("a reference from elsewhere", () => {
  it("--ref-model scores the reference with the other folder, live or cached", async () => {
    const expected = await chosenReward(model, other);
    expect(Math.abs(expected)).toBeGreaterThan(0.01);
    expect((await firstLine({ refModel: other }))["rewards/chosen"]).toBeCloseTo(expected, 4);
    expect((await firstLine({ refModel: other, reference: "cached" }))["rewards/chosen"]).toBeCloseTo(expected, 4);
  }, 60_000);

  it("--ref-adapter merges a PEFT adapter into the base for the reference", async () => {
    const sft = await mkdtemp(join(tmpdir(), "seapo-ref-sft-"));
    const config = { model, data: dpo, out: sft, loss: "sft", lr: 1e-2, maxSteps: 3, batchSize: 6, gradAccum: 1 };
    await train(parseTrainConfig(config), { log: () => {} });
    const expected = await chosenReward(model, join(sft, "model"));
    expect(Math.abs(expected)).toBeGreaterThan(0.01);
    expect((await firstLine({ refAdapter: join(sft, "adapter") }))["rewards/chosen"]).toBeCloseTo(expected, 4);
  }, 60_000);

  it("refuses a reference folder with another tokenizer, and adapter-disabled with either option", async () => {
    const odd = await mkdtemp(join(tmpdir(), "seapo-ref-odd-"));
    await cp(other, odd, { recursive: true });
    const tokenizer = JSON.parse(await readFile(join(odd, "tokenizer.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(odd, "tokenizer.json"), JSON.stringify({ ...tokenizer, truncation: { max_length: 7 } }));
    const error = await firstLine({ refModel: odd }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problem).toMatch(/tokenizer differs/);
    const input = { model, data: dpo, out: odd, refModel: other, reference: "adapter-disabled" as const };
    expect(() => parseTrainConfig(input)).toThrow(/adapter-disabled scores with the base weights/);
  }, 30_000);
});
