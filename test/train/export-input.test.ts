/** `seapo export`: YAML that PyYAML reads the same, and bad input refused as `seapo train` refuses it. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { RECIPE_FILES } from "../../src/train/recipes/index.js";
import { readJsonl } from "../helpers/cli.js";
import { exportFiles, writeLines, exported, hasPyYaml, PYTHON, type ExportFiles } from "./export-fixtures.js";

let files: ExportFiles;
beforeAll(async () => {
  files = await exportFiles();
});

describe("the YAML reads the same in PyYAML, which both engines use", () => {
  it("writes exponent floats with a dot and a signed exponent, and quotes YAML 1.1 booleans", async () => {
    const { read } = await exported({ lr: 1e-7 }, { target: "trl", zero: "none" });
    expect(read(RECIPE_FILES.trlConfig)).toContain("learning_rate: 1.0e-7\n");
    expect(read(RECIPE_FILES.accelerateConfig)).toContain('downcast_bf16: "no"\n');
  });

  it.skipIf(!hasPyYaml)("PyYAML parses every written YAML file to the same values", async () => {
    const cases = [
      { target: "llamafactory", overrides: {} },
      { target: "trl", overrides: {} },
      // TRL 0.28's DPO recipe writes max_prompt_length: null, which PyYAML must read as None.
      { target: "trl", overrides: { data: files.dpo, loss: "sigmoid", ldAlpha: 0.5 }, trlVersion: "0.28" },
    ] as const;
    for (const { target, overrides, ...rest } of cases) {
      const { out, yaml } = await exported({ lr: 1e-7, ...overrides }, { target, zero: "none", ...rest });
      for (const file of target === "trl"
        ? [RECIPE_FILES.trlConfig, RECIPE_FILES.accelerateConfig]
        : [RECIPE_FILES.llamaFactoryConfig]) {
        const python = execFileSync(
          PYTHON,
          ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", join(out, file)],
          { encoding: "utf8" },
        );
        expect(JSON.parse(python), file).toEqual(yaml(file));
      }
    }
  });
});

describe("bad input", () => {
  let bad: string;
  beforeAll(() => {
    bad = writeLines(join(files.dir, "bad-kto.jsonl"), [
      { prompt: "What is 7 + 5?", completion: "12.", label: true },
      { prompt: "What is 7 + 5?", label: false },
      { prompt: "What is 7 + 5?", completion: "13.", label: "yes" },
      { prompt: "What is 7 + 5?", completion: "13.", label: false },
    ]);
  });

  it.each([
    ["a row without completion", 2, "completion", "is missing"],
    ["a label that is not a boolean", 3, "label", 'must be true or false, got "yes"'],
  ])("%s names the file, line and field", async (_, line, field, problem) => {
    const rows = readFileSync(bad, "utf8").split("\n");
    const only = writeLines(join(files.dir, `bad-${field}.jsonl`), [
      rows[0]!,
      ...(line === 2 ? [rows[1]!] : [rows[2]!]),
    ]);
    const error = await exported({ data: only }, { target: "llamafactory" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`${only}:2:${field}: ${problem}`);
  });

  it("--skip-invalid drops the same rows seapo train would and lists them in rejects.jsonl", async () => {
    const { out, summary } = await exported({ data: bad, skipInvalid: true }, { target: "trl" });
    expect(summary).toMatchObject({ rows: 2, rejects: 2 });
    expect(readJsonl(join(out, "rejects.jsonl")).map((r) => [r.line, r.field])).toEqual([
      [2, "completion"],
      [3, "label"],
    ]);
  });

  it("a paired loss on unpaired rows is refused as the trainer refuses it", async () => {
    await expect(exported({ loss: "sigmoid" }, { target: "trl" })).rejects.toThrow(
      /needs chosen\/rejected pairs, but the file holds unpaired/,
    );
  });

  it.each(["trl", "llamafactory"] as const)(
    "rows with several rejected answers are refused for %s, which has no loss for them (finding 11)",
    async (target) => {
      for (const loss of ["sigmoid", "kto"])
        await expect(exported({ data: files.dpoMulti, loss }, { target })).rejects.toThrow(
          `${files.dpoMulti}:1:rejected: holds a list of rejected answers (dpo_multi.jsonl); only seapo train's listwise losses (multi_dpo, listwise_pl) train such rows: TRL and LLaMA-Factory have no loss that trains several negatives per prompt`,
        );
    },
  );

  it("a schedule transformers cannot express is refused", async () => {
    await expect(exported({ schedule: "linear", minLrRatio: 0.1 }, { target: "trl" })).rejects.toThrow(
      /--schedule linear --min-lr-ratio 0.1: transformers' linear schedule always ends at 0/,
    );
  });
});
