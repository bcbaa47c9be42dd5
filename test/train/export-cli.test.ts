/** `seapo export` on the command line (needs dist/: npm run build). */
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { RECIPE_FILES } from "../../src/train/recipes/index.js";
import { runCli } from "../helpers/cli.js";
import { exportFiles, writeLines, exported, type ExportFiles } from "./export-fixtures.js";
import { llamaFactoryYaml } from "./export-formats.js";

let files: ExportFiles;
beforeAll(async () => {
  files = await exportFiles();
});

describe("the CLI", () => {
  it("takes seapo train's --config and flags, writes the recipe and prints the launch command", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-"));
    const result = await runCli([
      "export",
      "--to",
      "llamafactory",
      "--config",
      files.config,
      "--data",
      files.kto,
      "--out",
      out,
      "--lr",
      "3e-6",
      "--gpus",
      "2",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `launch (in ${out}): FORCE_TORCHRUN=1 NPROC_PER_NODE=2 llamafactory-cli train train.yaml`,
    );
    const fromCli = llamaFactoryYaml.parse(
      parseYaml(readFileSync(join(out, RECIPE_FILES.llamaFactoryConfig), "utf8"), { version: "1.1" }),
    );
    const { yaml } = await exported({ lr: 3e-6 }, { target: "llamafactory", gpus: 2 }, files.config);
    expect(fromCli).toEqual(yaml(RECIPE_FILES.llamaFactoryConfig));
  });

  it("--trl-version 0.28 prints the accelerate launch its CLI needs, and the notes on stderr", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-trl-"));
    const base = [
      "export",
      "--to",
      "trl",
      "--model",
      "Qwen/Qwen2.5-0.5B-Instruct",
      "--data",
      files.dpo,
      "--loss",
      "sigmoid",
    ];
    const result = await runCli([...base, "--out", out, "--trl-version", "0.28", "--warmup-ratio", "0.1"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `launch (in ${out}): accelerate launch --config_file accelerate.yaml -m trl.scripts.dpo --config trl.yaml`,
    );
    expect(result.stderr).toContain("note: TRL v0.28.0's `trl dpo` ignores `--accelerate_config`");
    expect(result.stderr).toContain("note: `warmup_steps: 0.1` is a share of the steps in transformers 5.x");
    const refused = await runCli([...base, "--out", `${out}-x`, "--trl-version", "0.27"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("0.28, 1.0, 1.4, 1.9");
  });

  it("--ref-adapter reaches LLaMA-Factory's ref_model_adapters", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-ref-"));
    const args = ["--model", "Qwen/Qwen2.5-0.5B-Instruct", "--data", files.dpo, "--loss", "sigmoid"];
    const result = await runCli([
      "export",
      "--to",
      "llamafactory",
      ...args,
      "--out",
      out,
      "--ref-adapter",
      "/ckpt/sft",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const keys = parseYaml(readFileSync(join(out, RECIPE_FILES.llamaFactoryConfig), "utf8"), { version: "1.1" });
    expect(keys).toMatchObject({ ref_model: "Qwen/Qwen2.5-0.5B-Instruct", ref_model_adapters: "/ckpt/sft" });
  });

  it("exits 1 with file:line:field for a bad row", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-bad-"));
    const bad = writeLines(join(files.dir, "cli-bad.jsonl"), [{ prompt: "Hi", completion: "Hello.", label: 1 }]);
    const result = await runCli([
      "export",
      "--to",
      "trl",
      "--model",
      "Qwen/Qwen2.5-0.5B-Instruct",
      "--data",
      bad,
      "--out",
      out,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`seapo: ${bad}:1:label: must be true or false, got 1`);
  });

  it("exits 1 naming the supported losses for one LLaMA-Factory lacks", async () => {
    const out = await mkdtemp(join(tmpdir(), "seapo-export-cli-loss-"));
    const result = await runCli([
      "export",
      "--to",
      "llamafactory",
      "--model",
      "Qwen/Qwen2.5-0.5B-Instruct",
      "--data",
      files.dpo,
      "--out",
      out,
      "--loss",
      "nca_pair",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "seapo: --loss nca_pair: LLaMA-Factory has no such loss; it supports kto, dpo_sigmoid, cdpo, hinge, ipo, orpo_llamafactory, simpo",
    );
  });
});
