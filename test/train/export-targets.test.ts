/**
 * Versioned targets (issue 11, findings 1, 2, 5, 6 and LD-DPO): every key a recipe writes is a field
 * of the targeted version's config classes, its losses are ones that version computes as seapo
 * does, and its launch line is one that version's CLI runs. The lists come from
 * fixtures/export-allow-lists.json, which generators/export_allow_lists.py builds from TRL's tags
 * v0.28.0, v1.0.0, v1.4.0, v1.9.0 and LLaMA-Factory ff6d4d1 with Python's ast.
 */
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../src/train/config.js";
import {
  writeRecipe,
  LLAMAFACTORY_TARGET,
  RECIPE_FILES,
  TRL_TARGETS,
  TRL_VERSIONS,
  type TrlVersion,
} from "../../src/train/recipes/index.js";
import { defaults, exportFiles, exported, readmeCommands, type ExportFiles } from "./export-fixtures.js";
import { allowLists, llamaFactoryFields, llamaFactoryYaml, trlFields } from "./export-formats.js";

let files: ExportFiles;
beforeAll(async () => {
  files = await exportFiles();
});

const tagOf = (version: TrlVersion) => TRL_TARGETS[version].tag;

describe("the targets table matches the sources it was read from", () => {
  it.each(TRL_VERSIONS)("TRL %s", (version) => {
    const target = TRL_TARGETS[version];
    const fixture = allowLists.trl[target.tag]!;
    expect(fixture.commit).toBe(target.commit);
    expect([...target.dpoLossTypes].sort()).toEqual([...fixture.scripts.dpo.loss_types.values].sort());
    expect(target.sigmoidReadsLabelSmoothing).toBe(fixture.sigmoid_reads_label_smoothing.value);
    expect(target.cliPassesAccelerateConfig).toBe(fixture.accelerate_config_reaches_launch.value);
    expect(target.dpoMaxPromptLength).toBe(trlFields(target.tag, "dpo").has("max_prompt_length"));
  });

  it("LLaMA-Factory", () => {
    expect(allowLists.llamafactory.commit).toBe(LLAMAFACTORY_TARGET.commit);
    expect(allowLists.llamafactory.describe).toBe(LLAMAFACTORY_TARGET.describe);
  });
});

/** Settings that reach every optional key: eval data, a cached reference, LD-DPO, a floor, several terms. */
const dpoEverything = (data: string) => ({
  data,
  evalData: data,
  evalEvery: 20,
  loss: "sigmoid:1,hinge:0.5",
  reference: "cached",
  ldAlpha: 0.5,
  minLrRatio: 0.1,
  warmupRatio: 0.1,
  maxSteps: 100,
  disableDropout: false,
});

describe.each(TRL_VERSIONS)("--trl-version %s", (version) => {
  const tag = tagOf(version);
  const keysOf = async (overrides: Record<string, unknown>) =>
    (await exported(overrides, { target: "trl", trlVersion: version })).yaml(RECIPE_FILES.trlConfig);

  it("every key is a field `trl dpo` or `trl kto` of that tag parses", async () => {
    const cases: Array<["dpo" | "kto", Record<string, unknown>]> = [
      ["kto", {}],
      ["kto", { finetuning: "full", evalData: files.kto, reference: "cached", loss: "apo_zero_unpaired" }],
      ["dpo", dpoEverything(files.dpo)],
      ["dpo", { data: files.dpo, loss: "robust:1,sft:0.2", finetuning: "full" }],
    ];
    for (const [trainer, overrides] of cases) {
      const allowed = trlFields(tag, trainer);
      const keys = await keysOf(overrides);
      for (const key of Object.keys(keys)) expect(allowed.has(key), `${tag} ${trainer}: ${key}`).toBe(true);
      const lossTypes = allowLists.trl[tag]!.scripts[trainer].loss_types.values;
      for (const type of [keys.loss_type].flat()) expect(lossTypes).toContain(type);
    }
  });

  it("the README's launch line is the one that version's CLI runs with the accelerate file", async () => {
    const { summary, read } = await exported(
      { data: files.dpo, loss: "sigmoid" },
      { target: "trl", trlVersion: version },
    );
    const viaAccelerate = "accelerate launch --config_file accelerate.yaml -m trl.scripts.dpo --config trl.yaml";
    if (TRL_TARGETS[version].cliPassesAccelerateConfig) {
      expect(summary.command).toBe("trl dpo --config trl.yaml --accelerate_config accelerate.yaml");
      expect(readmeCommands(read(RECIPE_FILES.readme))).toEqual([summary.command, viaAccelerate]);
    } else {
      // trl/cli.py (≤ v0.28) launches dpo/kto from the script path alone: --accelerate_config would be lost.
      expect(summary.command).toBe(viaAccelerate);
      expect(readmeCommands(read(RECIPE_FILES.readme))).toEqual([viaAccelerate]);
      expect(summary.notes.join("\n")).toContain("ignores `--accelerate_config`");
    }
    expect(read(RECIPE_FILES.readme)).toContain(`Written for TRL ${tag} (commit ${TRL_TARGETS[version].commit})`);
  });

  it("writes disable_dropout and ld_alpha as set", async () => {
    expect(await keysOf({ data: files.dpo, loss: "sigmoid", ldAlpha: 0.3 })).toMatchObject({
      disable_dropout: true,
      ld_alpha: 0.3,
    });
    // LoRA dropout trains in TRL only with disable_dropout: false (it is on by default).
    const withDropout = await keysOf({ lora: { dropout: 0.1 }, disableDropout: false });
    expect(withDropout).toMatchObject({ lora_dropout: 0.1, disable_dropout: false });
    expect("ld_alpha" in withDropout).toBe(false);
  });
});

describe("the max_prompt_length of finding 1", () => {
  it("is a DPOConfig field up to v0.28 only, and written only there", async () => {
    expect(trlFields("v0.28.0", "dpo").has("max_prompt_length")).toBe(true);
    expect(trlFields("v1.0.0", "dpo").has("max_prompt_length")).toBe(false);
    expect(trlFields("v1.9.0", "dpo").has("max_prompt_length")).toBe(false);
    const old = await exported({ data: files.dpo, loss: "sigmoid" }, { target: "trl", trlVersion: "0.28" });
    expect(old.yaml(RECIPE_FILES.trlConfig)).toMatchObject({ max_prompt_length: null, truncation_mode: "keep_start" });
    const current = await exported({ data: files.dpo, loss: "sigmoid" }, { target: "trl", trlVersion: "1.9" });
    expect("max_prompt_length" in current.yaml(RECIPE_FILES.trlConfig)).toBe(false);
  });
});

describe("losses the target computes exactly, and nothing else", () => {
  it("cdpo maps to sigmoid with label_smoothing where sigmoid reads it (v0.28)", async () => {
    const { yaml } = await exported(
      { data: files.dpo, loss: "cdpo", lossParams: { cdpo: { label_smoothing: 0.1 } } },
      { target: "trl", trlVersion: "0.28" },
    );
    expect(yaml(RECIPE_FILES.trlConfig)).toMatchObject({ loss_type: "sigmoid", label_smoothing: 0.1 });
  });

  it.each(["1.0", "1.4", "1.9"] as const)("cdpo is refused on %s, whose sigmoid ignores label_smoothing", async (v) => {
    await expect(
      exported(
        { data: files.dpo, loss: "cdpo", lossParams: { cdpo: { label_smoothing: 0.1 } } },
        { target: "trl", trlVersion: v },
      ),
    ).rejects.toThrow(
      new RegExp(
        `--loss cdpo: TRL ${tagOf(v).replace(/\./g, "\\.")}'s DPO trainer has no such loss; it supports dpo_sigmoid, robust, .*ignores label_smoothing`,
      ),
    );
  });

  it.each([
    ["1.4", true],
    ["1.9", true],
    ["1.0", false],
    ["0.28", false],
  ] as const)("sigmoid_norm on %s: allowed %s", async (v, allowed) => {
    const run = exported({ data: files.dpo, loss: "sigmoid_norm" }, { target: "trl", trlVersion: v });
    if (allowed) expect((await run).yaml(RECIPE_FILES.trlConfig).loss_type).toBe("sigmoid_norm");
    else await expect(run).rejects.toThrow(/--loss sigmoid_norm: .*has no such loss.*from v1\.4/);
  });
});

describe("LLaMA-Factory ff6d4d1", () => {
  it("every key is a field of hparams/parser.py's _TRAIN_ARGS, pref_loss one of its values", async () => {
    const allowed = llamaFactoryFields();
    for (const overrides of [
      {},
      { finetuning: "full", evalData: files.kto, warmupSteps: 5 },
      { data: files.dpo, evalData: files.dpo, loss: "sigmoid:1,sft:0.2", minLrRatio: 0.1, maxSteps: 50 },
      { data: files.dpo, loss: "simpo", lossParams: { simpo: { simpo_gamma: 0.3 } } },
    ]) {
      const { yaml } = await exported(overrides, { target: "llamafactory" });
      const keys = yaml(RECIPE_FILES.llamaFactoryConfig);
      for (const key of Object.keys(keys)) expect(allowed.has(key), key).toBe(true);
      if ("pref_loss" in keys) expect(allowLists.llamafactory.pref_loss.values).toContain(keys.pref_loss);
    }
  });

  it("refuses ld_alpha, which it applies to the policy only", async () => {
    await expect(
      exported({ data: files.dpo, loss: "sigmoid", ldAlpha: 0.5 }, { target: "llamafactory" }),
    ).rejects.toThrow(/--ld-alpha: LLaMA-Factory's ld_alpha down-weights the policy's log-probs only/);
  });

  it("refuses LoRA dropout with dropout on: its trainers always switch dropout off", async () => {
    await expect(
      exported({ lora: { dropout: 0.1 }, disableDropout: false }, { target: "llamafactory" }),
    ).rejects.toThrow(/--no-disable-dropout: LLaMA-Factory's DPO and KTO trainers always switch dropout off/);
    const { yaml } = await exported({ lora: { dropout: 0.1 } }, { target: "llamafactory" });
    expect(yaml(RECIPE_FILES.llamaFactoryConfig).lora_dropout).toBe(0.1);
  });

  it("writes sft:w as pref_ftx and says in the README how its weighting differs (finding 4)", async () => {
    const { yaml, read, summary } = await exported(
      { data: files.dpo, loss: "sigmoid:1,sft:0.2" },
      { target: "llamafactory" },
    );
    expect(yaml(RECIPE_FILES.llamaFactoryConfig).pref_ftx).toBe(0.2);
    const note = summary.notes.find((n) => n.startsWith("`sft:w` is written as `pref_ftx: w`"));
    expect(note).toContain("per sequence");
    expect(read(RECIPE_FILES.readme)).toContain(`- ${note}`);
  });

  it("kto with an sft term is refused, not trained without it", async () => {
    await expect(exported({ loss: "kto,sft:0.1" }, { target: "llamafactory" })).rejects.toThrow(
      /--loss kto,sft: unpaired losses \(kto, apo_zero_unpaired\) cannot be combined with paired ones/,
    );
  });
});

describe("a reference from elsewhere (finding 10)", () => {
  /** A DPO config with --ref-model / --ref-adapter set (the fields of trainConfigSchema). */
  const withReference = async (reference: { refModel?: string; refAdapter?: string }) => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-ref-"));
    const config = await loadTrainConfig(undefined, {
      model: "Qwen/Qwen2.5-7B-Instruct",
      data: files.dpo,
      out,
      loss: "sigmoid",
      ...reference,
    });
    return { out, config };
  };

  it("LLaMA-Factory: ref_model and ref_model_adapters, which create_ref_model reads together", async () => {
    for (const [reference, expected] of [
      [{ refModel: "/ckpt/sft" }, { ref_model: "/ckpt/sft" }],
      [
        { refAdapter: "/ckpt/sft-lora" },
        { ref_model: "Qwen/Qwen2.5-7B-Instruct", ref_model_adapters: "/ckpt/sft-lora" },
      ],
      [
        { refModel: "/ckpt/sft", refAdapter: "/ckpt/a" },
        { ref_model: "/ckpt/sft", ref_model_adapters: "/ckpt/a" },
      ],
    ] as const) {
      const { out, config } = await withReference(reference);
      await writeRecipe(config, { ...defaults, target: "llamafactory" });
      const keys = parseYaml(readFileSync(join(out, RECIPE_FILES.llamaFactoryConfig), "utf8"), { version: "1.1" });
      expect(llamaFactoryYaml.parse(keys)).toMatchObject(expected);
      for (const key of Object.keys(keys)) expect(llamaFactoryFields().has(key), key).toBe(true);
    }
  });

  it.each(TRL_VERSIONS)("TRL %s: refused, as `trl dpo|kto` has no setting for it", async (version) => {
    const { config } = await withReference({ refAdapter: "/ckpt/sft-lora" });
    await expect(writeRecipe(config, { ...defaults, target: "trl", trlVersion: version })).rejects.toThrow(
      /--ref-adapter: `trl dpo\|kto` takes its reference from the model being trained/,
    );
  });
});
