/**
 * TRL's metric names and definitions (v1.9.0, DPOTrainer._compute_loss / KTOTrainer): learning_rate,
 * eval_ prefixes, logits/chosen|rejected, entropy and mean_token_accuracy read from the policy's logits.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, noGrad, ops } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { parseTrainConfig } from "../../src/train/config.js";
import { readPreferenceRows, tokenizeRows } from "../../src/train/data.js";
import { logitMetrics } from "../../src/train/metrics.js";
import { scoreRows } from "../../src/train/reference.js";
import { train } from "../../src/train/train.js";
import { readJsonl } from "../helpers/cli.js";
import { tinyHfModel, writeTinyPreferenceFiles } from "../helpers/tiny-hf-model.js";

let model: string;
let files: { kto: string; dpo: string };
beforeAll(async () => {
  model = await tinyHfModel();
  files = await writeTinyPreferenceFiles(await mkdtemp(join(tmpdir(), "seapo-trl-metrics-")), 4);
});

describe("logit statistics", () => {
  it("match the definitions computed with the engine's log-softmax over the completion positions", async () => {
    const hf = await loadHfModel(model);
    const policy = LlamaModel.fromWeights(hf.config, hf.weights);
    const { data } = tokenizeRows((await readPreferenceRows(files.dpo)).data, hf.tokenizer, 2048);
    if (data.kind !== "paired") throw new Error("pairs expected");
    const rows = data.rows.flatMap((r, i) => [
      { prompt: r.prompt, completion: r.chosen, key: `c${i}` },
      { prompt: r.prompt, completion: r.rejected, key: `r${i}` },
    ]);
    const { sums } = noGrad(() => scoreRows(policy, rows, true));
    rows.forEach((row, b) => {
      // The row alone, unpadded: position t predicts token t + 1.
      const seq = [...row.prompt, ...row.completion];
      const logits = noGrad(() => policy.forward([seq.slice(0, -1)]));
      const logp = noGrad(() => ops.logSoftmax(logits));
      const V = hf.config.vocabSize;
      let [entropy, logit, correct] = [0, 0, 0];
      for (let t = row.prompt.length - 1; t < seq.length - 1; t++) {
        const z = Array.from(logits.data.subarray(t * V, (t + 1) * V));
        const lp = Array.from(logp.data.subarray(t * V, (t + 1) * V));
        entropy -= lp.reduce((s, l) => s + Math.exp(l) * l, 0);
        logit += z.reduce((s, v) => s + v, 0) / V;
        if (z.indexOf(Math.max(...z)) === seq[t + 1]) correct++;
      }
      expect(sums!.entropy[b]).toBeCloseTo(entropy, 3);
      expect(sums!.logit[b]).toBeCloseTo(logit, 4);
      expect(sums!.correct[b]).toBe(correct);
      expect(sums!.tokens[b]).toBe(row.completion.length);
    });
  }, 30_000);

  it("average over tokens, not rows, per side", () => {
    const sums = { logit: [2, 9, 4], entropy: [1, 2, 3], correct: [1, 0, 2], tokens: [1, 3, 2] };
    expect(logitMetrics(sums, { chosen: [0, 2], rejected: [1] }, true)).toEqual({
      entropy: 6 / 6,
      "logits/chosen": 6 / 3,
      "logits/rejected": 9 / 3,
      mean_token_accuracy: 3 / 3,
    });
    expect(logitMetrics(sums, { chosen: [0, 1, 2], rejected: [] }, false)).toEqual({
      entropy: 1,
      "logits/chosen": 15 / 6,
    });
  });
});

describe("metrics.jsonl names", () => {
  it.each([
    ["dpo", "sigmoid:1,sft:0.1", ["mean_token_accuracy", "rewards/accuracies", "nll_loss", "sft/loss"]],
    ["kto", "kto", ["kl"]],
  ] as const)(
    "%s: TRL's names, eval_ on evaluation lines",
    async (kind, loss, extra) => {
      const out = await mkdtemp(join(tmpdir(), "seapo-trl-metrics-out-"));
      const data = files[kind];
      const config = { model, data, evalData: data, out, loss, maxSteps: 2, batchSize: 8, gradAccum: 1, logEvery: 1 };
      await train(parseTrainConfig({ ...config, saveAdapter: false, saveMerged: false }), { log: () => {} });
      const lines = readJsonl<Record<string, number>>(join(out, "metrics.jsonl"));
      const [trainLine, evalLine] = [lines.find((l) => "loss" in l)!, lines.find((l) => "eval_loss" in l)!];
      const names = [
        "loss",
        "grad_norm",
        "learning_rate",
        "epoch",
        "entropy",
        "logits/chosen",
        "logits/rejected",
        "rewards/chosen",
        "rewards/rejected",
        "rewards/margins",
        "logps/chosen",
        "logps/rejected",
        "num_tokens",
        ...extra,
      ];
      expect(Object.keys(trainLine)).toEqual(expect.arrayContaining(names));
      expect(Object.keys(trainLine)).not.toContain("lr");
      const evalNames = names.filter((n) => !["grad_norm", "learning_rate", "epoch", "sft/loss"].includes(n));
      expect(Object.keys(evalLine).sort()).toEqual(expect.arrayContaining(evalNames.map((n) => `eval_${n}`)));
      expect(Object.keys(evalLine).filter((k) => k !== "step" && !k.startsWith("eval_"))).toEqual([]);
    },
    30_000,
  );
});
