/** `seapo export --to llamafactory`: rows, dataset_info.json, train.yaml, ZeRO config and README. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { toLlamaFactoryDpoRow, toLlamaFactoryKtoRows } from "../../src/data/index.js";
import { RECIPE_FILES } from "../../src/train/recipes/index.js";
import { readJsonl } from "../helpers/cli.js";
import { exportFiles, records, exported, readmeCommands, type ExportFiles } from "./export-fixtures.js";
import { llamaFactoryYaml, datasetInfoEntry, deepSpeedJson, checkLlamaFactoryRow } from "./export-formats.js";

let files: ExportFiles;
beforeAll(async () => {
  files = await exportFiles();
});

describe("seapo export --to llamafactory", () => {
  it("writes KTO rows that match their dataset_info entry, the same rows the data engine writes", async () => {
    const { out, json, summary } = await exported({}, { target: "llamafactory" }, files.config);
    const info = z.record(z.string(), datasetInfoEntry).parse(json(RECIPE_FILES.datasetInfo));
    expect(Object.keys(info)).toEqual(["seapo_kto"]);
    const entry = info.seapo_kto!;
    expect(entry.columns?.kto_tag).toBe("label");
    const rows = readJsonl(join(out, RECIPE_FILES.dataDir, entry.file_name));
    expect(rows).toHaveLength(6);
    for (const row of rows) checkLlamaFactoryRow(entry, row);
    expect(summary.rows).toBe(6);
    // kto.jsonl holds the last user turn only, so compare with the engine's rows of records without history.
    // The export reorders them (spreadByPrompt; export-kto-order.test.ts checks the order).
    const engine = records
      .slice(0, 2)
      .flatMap((r) => toLlamaFactoryKtoRows(r, { includeDesirable: true }))
      .map(({ seapo: _, ...row }) => row);
    const sorted = (list: unknown[]) => list.map((r) => JSON.stringify(r)).sort();
    expect(sorted(rows).filter((r) => sorted(engine).includes(r))).toEqual(sorted(engine));
  });

  it("writes DPO pairs (ranking) with the history of conversational rows", async () => {
    const { json, out } = await exported(
      { data: files.dpoConversational, loss: "sigmoid" },
      { target: "llamafactory" },
    );
    const info = z.record(z.string(), datasetInfoEntry).parse(json(RECIPE_FILES.datasetInfo));
    const entry = info.seapo_dpo!;
    expect(entry.ranking).toBe(true);
    const rows = readJsonl(join(out, RECIPE_FILES.dataDir, entry.file_name));
    for (const row of rows) checkLlamaFactoryRow(entry, row);
    expect(rows).toEqual(records.map(toLlamaFactoryDpoRow).map(({ seapo: _, ...row }) => row));
  });

  it("writes seapo train's defaults as LLaMA-Factory keys", async () => {
    const { yaml } = await exported({}, { target: "llamafactory" });
    const train = yaml(RECIPE_FILES.llamaFactoryConfig);
    llamaFactoryYaml.parse(train);
    // Literal values: the defaults of `seapo train --help`, in LLaMA-Factory's names.
    expect(train).toEqual({
      model_name_or_path: "Qwen/Qwen2.5-7B-Instruct",
      stage: "kto",
      do_train: true,
      finetuning_type: "lora",
      lora_rank: 8,
      lora_alpha: 16,
      lora_dropout: 0,
      lora_target: "all",
      pref_beta: 0.1,
      kto_chosen_weight: 1,
      kto_rejected_weight: 1,
      dataset: "seapo_kto",
      dataset_dir: "data",
      template: "qwen",
      cutoff_len: 2048,
      deepspeed: "ds_z3_config.json",
      learning_rate: 5e-6,
      lr_scheduler_type: "cosine",
      warmup_steps: 0,
      num_train_epochs: 3,
      per_device_train_batch_size: 2,
      gradient_accumulation_steps: 8,
      weight_decay: 0,
      max_grad_norm: 1,
      seed: 42,
      bf16: true,
      logging_steps: 10,
      save_steps: 100,
      save_total_limit: 2,
      output_dir: "output",
      report_to: "none",
    });
  });

  it("carries every hyperparameter of the seapo train config (YAML file and flags)", async () => {
    const { yaml, config } = await exported({ lr: 3e-6 }, { target: "llamafactory" }, files.config);
    const train = llamaFactoryYaml.parse(yaml(RECIPE_FILES.llamaFactoryConfig));
    expect(config.lr).toBe(3e-6); // the flag beat the file
    // Literal values: those of files.config (and --lr), in LLaMA-Factory's names.
    expect(train).toEqual({
      model_name_or_path: "Qwen/Qwen2.5-7B-Instruct",
      stage: "kto",
      do_train: true,
      finetuning_type: "lora",
      lora_rank: 16,
      lora_alpha: 32,
      lora_dropout: 0.05,
      lora_target: "q_proj,v_proj",
      pref_beta: 0.2,
      kto_chosen_weight: 1.33,
      kto_rejected_weight: 1,
      dataset: "seapo_kto",
      dataset_dir: "data",
      template: "qwen",
      cutoff_len: 1024,
      deepspeed: "ds_z3_config.json",
      learning_rate: 3e-6,
      lr_scheduler_type: "cosine",
      warmup_steps: 0.1,
      num_train_epochs: 2,
      per_device_train_batch_size: 4,
      gradient_accumulation_steps: 4,
      weight_decay: 0.01,
      max_grad_norm: 0.5,
      seed: 7,
      bf16: true,
      logging_steps: 10,
      save_steps: 100,
      save_total_limit: 2,
      output_dir: "output",
      report_to: "none",
    });
    expect(train.pref_loss).toBeUndefined();
  });

  it.each([
    ["sigmoid", {}, { pref_loss: "sigmoid" }],
    [
      "cdpo:1,sft:0.1",
      { cdpo: { label_smoothing: 0.1 } },
      { pref_loss: "sigmoid", dpo_label_smoothing: 0.1, pref_ftx: 0.1 },
    ],
    ["hinge", {}, { pref_loss: "hinge" }],
    ["ipo", {}, { pref_loss: "ipo" }],
    ["orpo_llamafactory", {}, { pref_loss: "orpo" }],
    ["simpo", { simpo: { simpo_gamma: 1.2 } }, { pref_loss: "simpo", simpo_gamma: 1.2 }],
  ] as const)("--loss %s becomes stage dpo with LLaMA-Factory's pref_loss", async (loss, lossParams, expected) => {
    const { yaml } = await exported({ data: files.dpo, loss, lossParams, beta: 0.3 }, { target: "llamafactory" });
    const train = llamaFactoryYaml.parse(yaml(RECIPE_FILES.llamaFactoryConfig));
    expect(train).toMatchObject({ stage: "dpo", pref_beta: 0.3, ...expected });
  });

  it.each([
    [
      "robust",
      /--loss robust: LLaMA-Factory has no such loss; it supports kto, dpo_sigmoid, cdpo, hinge, ipo, orpo_llamafactory, simpo, plus sft:w/,
    ],
    ["orpo", /--loss orpo: LLaMA-Factory has no such loss.*LLaMA-Factory's ORPO is our orpo_llamafactory/],
    ["sigmoid,hinge", /LLaMA-Factory trains one preference loss/],
    ["sigmoid:0.5", /LLaMA-Factory weights its preference loss 1/],
  ])("an unsupported --loss %s is a clear error naming what is supported", async (loss, message) => {
    await expect(exported({ data: files.dpo, loss }, { target: "llamafactory" })).rejects.toThrow(message);
  });

  it("refuses a loss parameter LLaMA-Factory cannot express", async () => {
    await expect(
      exported(
        { data: files.dpo, loss: "simpo", lossParams: { simpo: { cpo_alpha: 0.5 } } },
        { target: "llamafactory" },
      ),
    ).rejects.toThrow(/--loss simpo: LLaMA-Factory has no setting for cpo_alpha \(0.5\); leave it at the default 0/);
  });

  it("writes a ZeRO config with auto values, and the README's command names the written files", async () => {
    for (const zero of ["2", "3"] as const) {
      const { json, read, out, summary } = await exported({}, { target: "llamafactory", zero, gpus: 4 });
      const ds = deepSpeedJson.parse(json(`ds_z${zero}_config.json`));
      expect(ds.zero_optimization.stage).toBe(Number(zero));
      const [command] = readmeCommands(read(RECIPE_FILES.readme));
      expect(command).toBe(summary.command);
      expect(command).toBe("FORCE_TORCHRUN=1 NPROC_PER_NODE=4 llamafactory-cli train train.yaml");
      for (const path of command!.split(/\s+/).filter((t) => /\.(ya?ml|json)$/.test(t)))
        expect(existsSync(join(out, path)), path).toBe(true);
      const train = llamaFactoryYaml.parse(parseYaml(read(RECIPE_FILES.llamaFactoryConfig), { version: "1.1" }));
      expect(existsSync(join(out, train.deepspeed!))).toBe(true);
      expect(existsSync(join(out, train.dataset_dir, "dataset_info.json"))).toBe(true);
    }
    const { out, summary } = await exported({}, { target: "llamafactory", zero: "none", gpus: 1 });
    expect(summary.command).toBe("llamafactory-cli train train.yaml");
    expect(existsSync(join(out, "ds_z3_config.json"))).toBe(false);
  });

  it("needs --template for a model name it cannot place", async () => {
    await expect(exported({ model: "/models/my-own" }, { target: "llamafactory" })).rejects.toThrow(
      /--template: cannot tell LLaMA-Factory's chat template for "\/models\/my-own"/,
    );
    const { yaml } = await exported({ model: "/models/my-own" }, { target: "llamafactory", template: "qwen3_nothink" });
    expect(yaml(RECIPE_FILES.llamaFactoryConfig).template).toBe("qwen3_nothink");
  });

  it("writes the eval file as its own dataset", async () => {
    const { json, yaml } = await exported({ evalData: files.kto, evalEvery: 50 }, { target: "llamafactory" });
    expect(Object.keys(z.record(z.string(), datasetInfoEntry).parse(json(RECIPE_FILES.datasetInfo)))).toEqual([
      "seapo_kto",
      "seapo_eval_kto",
    ]);
    expect(llamaFactoryYaml.parse(yaml(RECIPE_FILES.llamaFactoryConfig))).toMatchObject({
      eval_dataset: "seapo_eval_kto",
      eval_strategy: "steps",
      eval_steps: 50,
    });
  });
});
