/**
 * `seapo train` on dpo_multi.jsonl rows ({prompt, chosen, rejected: [r1, r2, …]}, finding 11):
 * reading and refusing rows, tokenization as for pairs, the batch layout and its reference-cache
 * keys, TRL's num_tokens, and runs of each listwise loss whose first-step loss and metrics are
 * recomputed here from log-probs scored one sequence at a time and the formulas in float64.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, noGrad } from "../../src/engine/index.js";
import { loadHfModel } from "../../src/engine/io/index.js";
import { parseTrainConfig } from "../../src/train/config.js";
import {
  readPreferenceRows,
  readTrainingRows,
  rowLength,
  rowsForLoss,
  tokenizeRows,
  type TokenizedMulti,
} from "../../src/train/data.js";
import { preferenceMetrics } from "../../src/train/metrics.js";
import { completionLogps } from "../../src/train/reference.js";
import { batchRows, batchTokens } from "../../src/train/step.js";
import { train } from "../../src/train/train.js";
import { trainWarnings } from "../../src/train/warnings.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { toDpoMultiRow } from "../../src/data/index.js";
import { exported } from "./export-fixtures.js";
import { tinyHfModel, writeTinyMultiFile, writeTinyPreferenceFiles } from "../helpers/tiny-hf-model.js";

let model: string;
let other: string;
let dir: string;
let multi: string;
let files: { kto: string; dpo: string };
beforeAll(async () => {
  model = await tinyHfModel();
  other = await tinyHfModel(2);
  dir = await mkdtemp(join(tmpdir(), "seapo-multi-"));
  multi = await writeTinyMultiFile(dir, 6);
  files = await writeTinyPreferenceFiles(dir, 6);
});

async function jsonl(name: string, rows: unknown[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

describe("reading dpo_multi.jsonl", () => {
  it("reads standard and conversational rows, K free per row", async () => {
    const file = await jsonl("shapes.jsonl", [
      { prompt: "p1", chosen: "c1", rejected: ["r1", "r2", "r3"] },
      {
        prompt: [{ role: "user", content: "p2" }],
        chosen: [{ role: "assistant", content: "c2" }],
        rejected: [[{ role: "assistant", content: "r4" }]],
      },
      { prompt: "p3", chosen: "c3", rejected: [[{ role: "assistant", content: "r5" }], "r6"] },
    ]);
    const { data } = await readTrainingRows(file);
    expect(data.kind).toBe("listwise");
    expect(data.rows).toEqual([
      {
        line: 1,
        conversational: false,
        messages: [{ role: "user", content: "p1" }],
        chosen: "c1",
        rejected: ["r1", "r2", "r3"],
      },
      { line: 2, conversational: true, messages: [{ role: "user", content: "p2" }], chosen: "c2", rejected: ["r4"] },
      {
        line: 3,
        conversational: true,
        messages: [{ role: "user", content: "p3" }],
        chosen: "c3",
        rejected: ["r5", "r6"],
      },
    ]);
  });

  it.each([
    [
      { prompt: "p", chosen: "c", rejected: [] },
      "rejected: is an empty list; a row needs at least one rejected answer",
    ],
    [{ prompt: "p", chosen: "c", rejected: ["r", " "] }, "rejected[1]: is empty"],
    [
      { prompt: "p", chosen: "c", rejected: ["r", [{ role: "user", content: "x" }]] },
      "rejected[1]: a message list must hold exactly one assistant message",
    ],
    [{ prompt: "p", rejected: ["r"] }, "chosen: is missing"],
    [
      { prompt: "p", chosen: "c", rejected: "r" },
      "rejected: a chosen/rejected pair (dpo.jsonl) in a file of rows with a list of rejected answers (dpo_multi.jsonl)",
    ],
  ])("names file, line and field: %j", async (bad, message) => {
    const file = await jsonl("bad.jsonl", [{ prompt: "p0", chosen: "c0", rejected: ["r0"] }, bad]);
    await expect(readTrainingRows(file)).rejects.toThrow(`${file}:2:${message}`);
    const { data, rejects } = await readTrainingRows(file, { skipInvalid: true });
    expect([data.rows.length, rejects.map((r) => [r.line, r.field])]).toEqual([1, [[2, message.split(":")[0]]]]);
  });

  it("reads the rows the data engine's writer makes (toDpoMultiRow, with its seapo provenance)", async () => {
    const negative = (errorType: string, rejected: string) => ({
      sourceId: "s1",
      errorType,
      injector: "rules",
      templateVersion: "t1",
      seed: 7,
      prompt: "What is 2 + 2?",
      history: [],
      chosen: "4.",
      rejected,
    });
    const row = toDpoMultiRow([negative("calculation", "5."), negative("hallucination", "4, as Euclid proved.")]);
    const { data } = await readTrainingRows(await jsonl("engine.jsonl", [row]));
    expect(data).toEqual({
      kind: "listwise",
      rows: [
        {
          line: 1,
          conversational: false,
          messages: [{ role: "user", content: "What is 2 + 2?" }],
          chosen: "4.",
          rejected: ["5.", "4, as Euclid proved."],
        },
      ],
    });
  });

  it("the export's reader refuses listwise rows, even with one negative each", async () => {
    const file = await jsonl("one-each.jsonl", [{ prompt: "p", chosen: "c", rejected: ["r"] }]);
    await expect(readPreferenceRows(file)).rejects.toThrow(
      `${file}:1:rejected: holds a list of rejected answers (dpo_multi.jsonl); only seapo train's listwise losses`,
    );
  });

  it("refuses listwise losses on pairs or items, and pairwise or unpaired losses on listwise rows", async () => {
    const from = (loss: string) => ({ file: "f.jsonl", loss, hint: "h" });
    const pairs = (await readTrainingRows(files.dpo)).data;
    const items = (await readTrainingRows(files.kto)).data;
    const lists = (await readTrainingRows(multi)).data;
    expect(() => rowsForLoss(pairs, "listwise", from("multi_dpo"))).toThrow(
      "f.jsonl: --loss multi_dpo needs rows with a list of rejected answers {prompt, chosen, rejected: [r1, r2, …]} (dpo_multi.jsonl), but the file holds chosen/rejected pairs (dpo.jsonl)",
    );
    expect(() => rowsForLoss(items, "listwise", from("listwise_pl"))).toThrow(/but the file holds unpaired/);
    expect(() => rowsForLoss(lists, "paired", from("sigmoid"))).toThrow(
      "f.jsonl: --loss sigmoid trains one rejected answer per pair, but the file holds rows with a list of rejected answers (dpo_multi.jsonl); splitting them would count each prompt once per negative\n  hint: train --loss sigmoid on the dpo.jsonl",
    );
    expect(() => rowsForLoss(lists, "unpaired", from("kto"))).toThrow(
      /--loss kto trains unpaired items, .*\n {2}hint: train --loss kto on the kto.jsonl/,
    );
    expect(rowsForLoss(lists, "listwise", from("multi_dpo"))).toBe(lists);
  });

  it("train() refuses them too, before any step", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-multi-refused-"));
    await expect(
      train(parseTrainConfig({ model, data: files.dpo, out, loss: "multi_dpo" }), { log: () => {} }),
    ).rejects.toThrow(`${files.dpo}: --loss multi_dpo needs rows with a list of rejected answers`);
    await expect(
      train(parseTrainConfig({ model, data: multi, out, loss: "sigmoid" }), { log: () => {} }),
    ).rejects.toThrow(`${multi}: --loss sigmoid trains one rejected answer per pair`);
  });

  it("--ld-alpha is refused with a listwise loss (LD-DPO splits an answer at its pair's shorter one)", () => {
    expect(() => parseTrainConfig({ model, data: multi, out: "o", loss: "multi_dpo", ldAlpha: 0.5 })).toThrow(
      /--ld-alpha weights the log-probs of reference-based paired \(DPO-family\) losses; multi_dpo is not one/,
    );
  });
});

describe("tokens and batches", () => {
  it("each answer is tokenized as a pair's answer is, and the batch keys each of a row's K + 1 completions once", async () => {
    const hf = await loadHfModel(model);
    const lists = tokenizeRows((await readTrainingRows(multi)).data, hf.tokenizer, 2048).data;
    const pairs = tokenizeRows((await readTrainingRows(files.dpo)).data, hf.tokenizer, 2048).data;
    if (lists.kind !== "listwise" || pairs.kind !== "paired") throw new Error("kinds");
    lists.rows.forEach((row, i) => {
      expect(row.prompt).toEqual(pairs.rows[i]!.prompt);
      expect(row.chosen).toEqual(pairs.rows[i]!.chosen);
      expect(row.rejected[0]).toEqual(pairs.rows[i]!.rejected);
      expect(row.rejected).toHaveLength(1 + (i % 3));
    });
    const rows = batchRows(lists, [4, 1], { kl: false });
    expect(rows.map((r) => r.key)).toEqual(["c4", "c1", "r4.0", "r4.1", "r1.0", "r1.1"]);
    expect(rows[3]!.completion).toEqual(lists.rows[4]!.rejected[1]);
    const sequences = (r: TokenizedMulti) => [r.chosen, ...r.rejected].map((c) => r.prompt.length + c.length);
    // Length bucketing sees a row's longest sequence.
    expect(rowLength({ line: 1, prompt: [1, 2], chosen: [3], rejected: [[4], [5, 6, 7, 8], [9]] })).toBe(6);
    expect(batchTokens(lists, [4, 1])).toBe([4, 1].flatMap((i) => sequences(lists.rows[i]!)).reduce((a, b) => a + b));
  });

  it("metrics over the K negatives, on a constructed batch", () => {
    // Row 0: chosen 1 against 0 and 2 (beats one of two); row 1: chosen 0 against -1 (beats all).
    const metrics = preferenceMetrics({
      kind: "listwise",
      chosenRewards: [1, 0],
      rejectedRewards: [[0, 2], [-1]],
      chosenLogps: [-3, -5],
      rejectedLogps: [[-4, -6], [-7]],
    });
    expect(metrics).toEqual({
      "rewards/chosen": 0.5,
      "rewards/rejected": 0,
      "rewards/rejected_max": 0.5,
      "rewards/margins": 0.5,
      "rewards/accuracies": 0.5,
      "rewards/pair_accuracies": 0.75,
      "logps/chosen": -4,
      "logps/rejected": -6,
    });
  });
});

/** −log σ(u), log-sum-exp: the two row formulas in float64. */
const softplusNeg = (u: number) => Math.max(-u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
const logSumExp = (xs: number[]) => {
  const top = Math.max(...xs);
  return top + Math.log(xs.reduce((s, x) => s + Math.exp(x - top), 0));
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe.each(["multi_dpo", "listwise_pl"] as const)("seapo train --loss %s on dpo_multi.jsonl", (loss) => {
  const beta = 0.5;
  const run = async (settings: Record<string, unknown>) => {
    const out = await mkdtemp(join(tmpdir(), "seapo-multi-run-"));
    const config = { model, data: multi, out, loss, beta, refModel: other, lr: 1e-2, batchSize: 6, gradAccum: 1 };
    const extra = { logEvery: 1, saveAdapter: false, saveMerged: false, ...settings };
    const summary = await train(parseTrainConfig({ ...config, ...extra }), { log: () => {} });
    return { out, summary, lines: readJsonl<Record<string, number>>(join(out, "metrics.jsonl")) };
  };

  it("trains N steps; the first step's loss and metrics equal the formula on log-probs scored one sequence at a time", async () => {
    const { out, summary, lines: all } = await run({ maxSteps: 4, evalData: multi });
    expect(summary.steps).toBe(4);
    const lines = all.filter((l) => "loss" in l);
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).data).toMatchObject({ kind: "listwise", rows: 6 });
    // The evaluation pass scores the same rows after the fourth update: its loss is the fifth train step's would-be loss.
    const evalLine = all.find((l) => "eval_loss" in l)!;
    expect(Object.keys(evalLine)).toEqual(
      expect.arrayContaining(["eval_rewards/rejected_max", "eval_rewards/pair_accuracies", "eval_num_tokens"]),
    );
    expect(evalLine.eval_loss).toBeLessThan(lines[3]!.loss!);

    // At step 0 the LoRA update is zero, so the policy is the base model; the reference is --ref-model.
    const [base, reference] = await Promise.all([model, other].map((d) => loadHfModel(d)));
    const [policyModel, referenceModel] = [base!, reference!].map((hf) =>
      LlamaModel.fromWeights(hf.config, hf.weights),
    );
    const data = tokenizeRows((await readTrainingRows(multi)).data, base!.tokenizer, 2048).data;
    if (data.kind !== "listwise") throw new Error("listwise rows expected");
    const logp = (m: LlamaModel, prompt: number[], completion: number[]) =>
      noGrad(() => completionLogps(m, [{ prompt, completion, key: "x" }]).data[0]!);
    const reward = (prompt: number[], completion: number[]) =>
      beta * (logp(policyModel!, prompt, completion) - logp(referenceModel!, prompt, completion));
    const rows = data.rows.map((r) => ({
      zc: reward(r.prompt, r.chosen),
      zs: r.rejected.map((c) => reward(r.prompt, c)),
    }));
    const perRow = rows.map(({ zc, zs }) =>
      loss === "multi_dpo" ? mean(zs.map((z) => softplusNeg(zc - z))) : logSumExp([zc, ...zs]) - zc,
    );
    const first = lines[0]!;
    expect(first.loss).toBeCloseTo(mean(perRow), 5);
    expect(first["rewards/chosen"]).toBeCloseTo(mean(rows.map((r) => r.zc)), 5);
    expect(first["rewards/rejected"]).toBeCloseTo(mean(rows.map((r) => mean(r.zs))), 5);
    expect(first["rewards/margins"]).toBeCloseTo(mean(rows.map((r) => r.zc - mean(r.zs))), 5);
    expect(first["rewards/rejected_max"]).toBeCloseTo(mean(rows.map((r) => Math.max(...r.zs))), 5);
    expect(first["rewards/accuracies"]).toBe(mean(rows.map((r) => (r.zs.every((z) => r.zc > z) ? 1 : 0))));
    // TRL's num_tokens: every prompt + completion scored, K + 1 sequences per row, cumulative.
    const tokens = data.rows.reduce(
      (n, r) => n + (r.rejected.length + 1) * r.prompt.length + r.chosen.length + r.rejected.flat().length,
      0,
    );
    expect(lines.map((l) => l.num_tokens)).toEqual([1, 2, 3, 4].map((k) => k * tokens));
    // The gradient reaches the model: the same batch, four updates, a lower loss.
    expect(lines[3]!.loss).toBeLessThan(first.loss! - 0.01);
  }, 60_000);

  it("a cached reference gives the live reference's losses, with one cache entry per completion", async () => {
    const live = await run({ maxSteps: 2 });
    const cached = await run({ maxSteps: 2, reference: "cached" });
    cached.lines.forEach((line, i) => expect(line.loss).toBeCloseTo(live.lines[i]!.loss!, 5));
    const cacheDir = join(cached.out, "reference-cache");
    const table = JSON.parse(readFileSync(join(cacheDir, readdirSync(cacheDir)[0]!), "utf8")) as Record<string, number>;
    // Six rows with 1, 2, 3, 1, 2, 3 negatives: 6 chosen + 12 rejected completions.
    expect(Object.keys(table).sort()).toEqual(
      [0, 1, 2, 3, 4, 5]
        .flatMap((i) => [`c${i}`, ...Array.from({ length: 1 + (i % 3) }, (_, k) => `r${i}.${k}`)])
        .sort(),
    );
  }, 60_000);
});

describe("num_tokens (TRL v1.9.0: the attention mask of every trained batch, summed, cumulative)", () => {
  it.each([
    ["kto", "kto"],
    ["dpo", "sigmoid"],
  ] as const)(
    "%s: prompt + completion of each scored sequence (a pair's two; no KL rows), eval lines the train total",
    async (kind, loss) => {
      const data = files[kind];
      const out = await mkdtemp(join(tmpdir(), "seapo-num-tokens-"));
      const config = { model, data, evalData: data, out, loss, maxSteps: 2, batchSize: 12, gradAccum: 1, logEvery: 1 };
      await train(parseTrainConfig({ ...config, saveAdapter: false, saveMerged: false }), { log: () => {} });
      const hf = await loadHfModel(model);
      const rows = tokenizeRows((await readTrainingRows(data)).data, hf.tokenizer, 2048).data;
      const perEpoch =
        rows.kind === "unpaired"
          ? rows.rows.reduce((n, r) => n + r.prompt.length + r.completion.length, 0)
          : rows.kind === "paired"
            ? rows.rows.reduce((n, r) => n + 2 * r.prompt.length + r.chosen.length + r.rejected.length, 0)
            : NaN;
      const lines = readJsonl<Record<string, number>>(join(out, "metrics.jsonl"));
      expect(lines.filter((l) => "loss" in l).map((l) => l.num_tokens)).toEqual([perEpoch, 2 * perEpoch]);
      expect(lines.filter((l) => "eval_loss" in l).map((l) => l.eval_num_tokens)).toEqual([2 * perEpoch]);
    },
    30_000,
  );
});

describe("seapo export and the listwise losses", () => {
  it.each(["trl", "llamafactory"] as const)(
    "%s refuses multi_dpo and listwise_pl, naming what it supports",
    async (target) => {
      for (const loss of ["multi_dpo", "listwise_pl"])
        await expect(exported({ data: files.dpo, loss }, { target })).rejects.toThrow(
          new RegExp(`--loss ${loss}: .*has no such loss; it supports `),
        );
    },
  );
});

describe("seapo train --help", () => {
  it("names dpo_multi.jsonl, the listwise losses and the new metrics", async () => {
    const { code, stdout } = await runCli(["train", "--help"]);
    expect(code).toBe(0);
    const help = stdout.replace(/\s+/g, " ");
    for (const text of [
      "dpo_multi.jsonl {prompt, chosen, rejected: [r1, r2, …]}",
      "train the listwise losses multi_dpo and listwise_pl only",
      "num_tokens",
      "rewards/rejected_max and rewards/pair_accuracies",
      "--data <file> kto.jsonl, dpo.jsonl or dpo_multi.jsonl (listwise losses)",
    ])
      expect(help).toContain(text);
  });
});

describe("warnings", () => {
  it("says when every row has one negative (a listwise loss is then DPO), and not otherwise", async () => {
    const config = parseTrainConfig({ model, data: multi, out: "o", loss: "multi_dpo" });
    const terms = [{ name: "multi_dpo" as const }];
    const row = (k: number): TokenizedMulti => ({
      line: 1,
      prompt: [1],
      chosen: [2],
      rejected: Array.from({ length: k }, () => [3]),
    });
    expect(trainWarnings(config, terms, { kind: "listwise", rows: [row(1), row(1)] })).toEqual([
      "every row has one rejected answer, so multi_dpo trains plain DPO; seapo inject --strategy all writes several per prompt",
    ]);
    expect(trainWarnings(config, terms, { kind: "listwise", rows: [row(1), row(2)] })).toEqual([]);
  });
});
