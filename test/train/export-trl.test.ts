/** `seapo export --to trl`: rows, trl.yaml with real TRL keys, accelerate.yaml. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { toDpoRow } from "../../src/data/index.js";
import { RECIPE_FILES } from "../../src/train/recipes/index.js";
import { readJsonl } from "../helpers/cli.js";
import { exportFiles, records, exported, readmeCommands, type ExportFiles } from "./export-fixtures.js";
import { accelerateYaml, allowLists, deepSpeedJson, trlFields, trlRow, trlYaml } from "./export-formats.js";

let files: ExportFiles;
beforeAll(async () => {
  files = await exportFiles();
});

describe("seapo export --to trl (default --trl-version 1.9: TRL v1.9.0)", () => {
  // The fields `trl dpo|kto` of v1.9.0 parses, generated from its sources (fixtures/export-allow-lists.json).
  const trlKeys = { dpo: trlFields("v1.9.0", "dpo"), kto: trlFields("v1.9.0", "kto") };

  it("writes seapo train's defaults as TRL keys", async () => {
    const { yaml } = await exported({}, { target: "trl" });
    const raw = yaml(RECIPE_FILES.trlConfig);
    trlYaml.parse(raw);
    // Literal values: the defaults of `seapo train --help`, in TRL's names.
    expect(raw).toEqual({
      model_name_or_path: "Qwen/Qwen2.5-7B-Instruct",
      dataset_name: "data",
      dataset_train_split: "train",
      use_peft: true,
      lora_r: 8,
      lora_alpha: 16,
      lora_dropout: 0,
      lora_target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
      beta: 0.1,
      loss_type: "kto",
      desirable_weight: 1,
      undesirable_weight: 1,
      max_length: 2048,
      disable_dropout: true,
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

  it("writes KTO for `trl kto`: unpaired rows, real KTOConfig keys, the seapo train hyperparameters", async () => {
    const { yaml, read, out, summary } = await exported({}, { target: "trl" }, files.config);
    const raw = yaml(RECIPE_FILES.trlConfig);
    for (const key of Object.keys(raw)) expect(trlKeys.kto.has(key), key).toBe(true);
    const trl = trlYaml.parse(raw);
    // Literal values: those of files.config, in TRL's names.
    expect(trl).toEqual({
      model_name_or_path: "Qwen/Qwen2.5-7B-Instruct",
      dataset_name: "data",
      dataset_train_split: "train",
      use_peft: true,
      lora_r: 16,
      lora_alpha: 32,
      lora_dropout: 0.05,
      lora_target_modules: ["q_proj", "v_proj"],
      beta: 0.2,
      loss_type: "kto",
      desirable_weight: 1.33,
      undesirable_weight: 1,
      max_length: 1024,
      disable_dropout: true,
      learning_rate: 2e-6,
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
    const rows = readJsonl(join(out, trl.dataset_name, `${trl.dataset_train_split}.jsonl`));
    expect(rows).toHaveLength(6);
    for (const row of rows) trlRow.conversational.unpaired.parse(row);
    // TRL's KTO trainer would read a null prompt cap as 128 tokens: its defaults stay.
    expect(trl.max_prompt_length).toBeUndefined();
    expect(trl.truncation_mode).toBeUndefined();
    expect(summary.command).toBe("trl kto --config trl.yaml --accelerate_config accelerate.yaml");
    const commands = readmeCommands(read(RECIPE_FILES.readme));
    expect(commands).toEqual([
      summary.command,
      "accelerate launch --config_file accelerate.yaml -m trl.scripts.kto --config trl.yaml",
    ]);
    for (const path of commands
      .join(" ")
      .split(/\s+/)
      .filter((t) => /\.(ya?ml|json)$/.test(t)))
      expect(existsSync(join(out, path)), path).toBe(true);
  });

  it("writes DPO pairs for `trl dpo`, weighted terms as a loss_type list", async () => {
    const { yaml, out, summary } = await exported(
      { data: files.dpoConversational, loss: "sigmoid:1,sft:0.2", minLrRatio: 0.1 },
      { target: "trl" },
    );
    const raw = yaml(RECIPE_FILES.trlConfig);
    for (const key of Object.keys(raw)) expect(trlKeys.dpo.has(key), key).toBe(true);
    const trl = trlYaml.parse(raw);
    expect(trl).toMatchObject({
      loss_type: ["sigmoid", "sft"],
      loss_weights: [1, 0.2],
      lr_scheduler_type: "cosine_with_min_lr",
      lr_scheduler_kwargs: { min_lr_rate: 0.1 },
      truncation_mode: "keep_start",
    });
    // DPOConfig has had no max_prompt_length since v0.29; `trl dpo` would hand it to accelerate, which fails.
    expect("max_prompt_length" in raw).toBe(false);
    for (const type of [trl.loss_type].flat())
      expect(allowLists.trl["v1.9.0"]!.scripts.dpo.loss_types.values).toContain(type);
    const rows = readJsonl(join(out, RECIPE_FILES.trlTrain));
    for (const row of rows) trlRow.conversational.paired.parse(row);
    expect(rows[2]!.prompt).toEqual([...records[2]!.history, { role: "user", content: "And in French?" }]);
    expect(summary.command).toBe("trl dpo --config trl.yaml --accelerate_config accelerate.yaml");
  });

  it.each([
    ["robust", { robust: { label_smoothing: 0.2 } }, { loss_type: "robust", label_smoothing: 0.2 }],
    ["discopop", {}, { loss_type: "discopop", discopop_tau: 0.05 }],
    ["apo_zero", {}, { loss_type: "apo_zero" }],
  ] as const)("--loss %s maps to TRL's DPO loss_type", async (loss, lossParams, expected) => {
    const { yaml } = await exported({ data: files.dpo, loss, lossParams }, { target: "trl" });
    expect(yaml(RECIPE_FILES.trlConfig)).toMatchObject(expected);
  });

  it("standard (plain-text) rows, and a clear error when a prompt has a history", async () => {
    const { out } = await exported({ data: files.dpo, loss: "sigmoid" }, { target: "trl", trlFormat: "standard" });
    expect(readJsonl(join(out, RECIPE_FILES.trlTrain))).toEqual(
      records.map(toDpoRow).map(({ seapo: _, ...row }) => row),
    );
    for (const row of readJsonl(join(out, RECIPE_FILES.trlTrain))) trlRow.standard.paired.parse(row);
    await expect(
      exported({ data: files.dpoConversational, loss: "sigmoid" }, { target: "trl", trlFormat: "standard" }),
    ).rejects.toThrow(/dpo_conversational\.jsonl:3:prompt: a standard .* use --trl-format conversational/s);
  });

  it.each([
    ["simpo", /--loss simpo: TRL v1\.9\.0's DPO trainer has no such loss.*CPOTrainer/],
    ["fdpo", /--loss fdpo: TRL v1\.9\.0's DPO trainer has no such loss; it supports dpo_sigmoid, robust, hinge/],
  ])("refuses --loss %s, which `trl` cannot run", async (loss, message) => {
    await expect(
      exported({ data: files.dpo, loss, lossParams: loss === "fdpo" ? { fdpo: { delta: 1 } } : {} }, { target: "trl" }),
    ).rejects.toThrow(message);
  });

  it("an accelerate config for DeepSpeed through the JSON file, or plain multi-GPU", async () => {
    const { yaml, json } = await exported({}, { target: "trl", zero: "2", gpus: 4 });
    const accel = accelerateYaml.parse(yaml(RECIPE_FILES.accelerateConfig));
    expect(accel).toMatchObject({
      distributed_type: "DEEPSPEED",
      num_processes: 4,
      deepspeed_config: { deepspeed_config_file: "ds_z2_config.json", zero3_init_flag: false },
    });
    expect(accel.mixed_precision).toBeUndefined();
    deepSpeedJson.parse(json("ds_z2_config.json"));
    const plain = await exported({}, { target: "trl", zero: "none", gpus: 2 });
    expect(accelerateYaml.parse(plain.yaml(RECIPE_FILES.accelerateConfig))).toMatchObject({
      distributed_type: "MULTI_GPU",
      num_processes: 2,
      mixed_precision: "no",
    });
  });
});
