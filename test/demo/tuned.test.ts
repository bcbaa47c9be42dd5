import { writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultDemoOptions, demoFlagsSchema, demoOptionsFromFlags } from "../../src/demo/index.js";
import { armTrainConfig } from "../../src/demo/run.js";
import { armHyper, readTunedFile, tunedFilePath } from "../../src/demo/tuned.js";

const log = () => {};
const row = { lr: 2e-3, beta: 0.3, steps: 60, sftWeight: 0.2, loraRank: 16 };

describe("per-arm hyperparameters from the validation search", () => {
  it("trains an arm with its tuned row and every other arm with the run's settings", () => {
    const options = { ...defaultDemoOptions(true), out: "/tmp/x", log, tuned: { "vanilla-dpo": row } };
    const run = { seed: 3, dataFile: "/tmp/x/d.jsonl", runDir: "/tmp/x/run" };
    const tuned = armTrainConfig(options, { name: "vanilla-dpo", method: "vanilla", loss: "dpo" }, run);
    expect([tuned.lr, tuned.beta, tuned.maxSteps, tuned.loss, tuned.lora.rank, tuned.lora.alpha]).toEqual([
      2e-3,
      0.3,
      60,
      "sigmoid,sft:0.2",
      16,
      32,
    ]);
    const other = armTrainConfig(options, { name: "vanilla-kto", method: "vanilla", loss: "kto" }, run);
    expect([other.lr, other.beta, other.maxSteps, other.loss, other.lora.rank]).toEqual([5e-3, 0.1, 30, "kto", 8]);
    expect(armHyper({ ...options, tuned: undefined }, "vanilla-dpo")).toEqual({
      lr: 5e-3,
      beta: 0.1,
      steps: 30,
      sftWeight: 0,
      loraRank: 8,
    });
  });

  it("names the file and the field of a bad tuned row", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "seapo-tuned-")), "tuned.json");
    writeFileSync(file, JSON.stringify({ world: 2, search: "s", arms: { "vanilla-kto": { ...row, lr: -1 } } }));
    expect(() => readTunedFile(file)).toThrow(file);
    expect(() => readTunedFile(file)).toThrow("arms.vanilla-kto.lr");
  });

  it("uses world 2's frozen rows unless a hyperparameter is typed", () => {
    const frozen = readTunedFile(tunedFilePath(2)).arms;
    expect(Object.keys(frozen)).toContain("seapo-mixed-kto");
    expect(defaultDemoOptions("full").tuned).toEqual(frozen);
    const flags = demoFlagsSchema.parse({ full: true });
    expect(demoOptionsFromFlags(flags, new Set(["full"]), log).tuned).toEqual(frozen);
    const typed = demoFlagsSchema.parse({ full: true, steps: 5 });
    expect(demoOptionsFromFlags(typed, new Set(["full", "steps"]), log).tuned).toBeUndefined();
  });
});
