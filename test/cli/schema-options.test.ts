import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { addSchemaOptions, integerArg, numberArg, typedFlags } from "../../src/cli/schema-options.js";

const schema = z.strictObject({
  out: z.string().meta({ description: "output folder", flag: "--out <dir>" }),
  beta: z.number().positive().default(0.1).meta({ description: "beta" }),
  lr: z.number().default(5e-6).meta({ description: "learning rate" }),
  mode: z.enum(["a", "b"]).default("a").meta({ description: "mode" }),
  lora: z
    .strictObject({
      rank: z.number().int().default(8).meta({ description: "rank" }),
      targets: z.array(z.string()).default(["q", "v"]).meta({ description: "targets" }),
    })
    .prefault({}),
  bucketing: z.boolean().default(true).meta({ description: "no buckets", flag: "--no-bucketing" }),
  resume: z.boolean().default(false).meta({ description: "resume" }),
  fileOnly: z.record(z.string(), z.number()).default({}),
});

function parse(args: string[]): { command: Command; input: Record<string, unknown> } {
  const command = addSchemaOptions(new Command("t").exitOverride(), schema);
  command.parse(args, { from: "user" });
  return { command, input: typedFlags(schema, command) };
}

describe("options from a zod schema", () => {
  it("names, nests and describes every described field, with the schema's default", () => {
    const { command } = parse([]);
    const options = command.options.map((o) => [o.flags, o.defaultValue, o.defaultValueDescription]);
    expect(options).toEqual([
      ["--out <dir>", undefined, undefined],
      ["--beta <n>", 0.1, undefined],
      ["--lr <n>", 5e-6, "5e-6"],
      ["--mode <value>", "a", undefined],
      ["--lora-rank <n>", 8, undefined],
      ["--lora-targets <list>", ["q", "v"], "q,v"],
      ["--no-bucketing", undefined, undefined],
      ["--resume", undefined, undefined],
    ]);
    expect(command.helpInformation()).toContain('(choices: "a", "b", default: "a")');
  });

  it("returns only what was typed, as the schema's nested input", () => {
    expect(parse([]).input).toEqual({});
    const { input } = parse(["--lora-rank", "4", "--lora-targets", "k, o", "--no-bucketing", "--resume", "--out", "x"]);
    expect(input).toEqual({ out: "x", lora: { rank: 4, targets: ["k", "o"] }, bucketing: false, resume: true });
    expect(schema.parse(input)).toMatchObject({ beta: 0.1, lora: { rank: 4, targets: ["k", "o"] }, bucketing: false });
  });

  it("refuses what is not a number, and leaves ranges to the schema", () => {
    expect(() => parse(["--beta", "abc"])).toThrow(/--beta.*expected a number, got "abc"/);
    expect(parse(["--beta", "-1"]).input).toEqual({ beta: -1 });
    expect(() => parse(["--mode", "c"])).toThrow(/Allowed choices are a, b/);
  });

  it("integerArg and numberArg check what commands without a schema take", () => {
    expect(integerArg("--seed", 0, 10)("7")).toBe(7);
    expect(() => integerArg("--seed", 0, 10)("11")).toThrow('--seed: expected an integer from 0 to 10, got "11"');
    expect(() => integerArg("--steps", 1)("1.5")).toThrow('--steps: expected an integer at least 1, got "1.5"');
    expect(() => integerArg("--steps", 1)("")).toThrow(/expected an integer/);
    expect(numberArg("--lr")("1e-4")).toBe(1e-4);
    expect(() => numberArg("--lr")(" ")).toThrow(/expected a number/);
  });
});
