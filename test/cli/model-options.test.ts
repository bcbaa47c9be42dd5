import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addModelOptions, modelChoice, modelOptionsSchema } from "../../src/cli/model-options.js";
import { parseFlags } from "../../src/cli/schema-options.js";

const defaults = modelOptionsSchema().parse({});

describe("modelChoice", () => {
  it("names no backend when no flag chooses one", () => {
    expect(modelChoice(defaults)).toBeUndefined();
  });

  it("builds the server settings from the flags and their defaults", () => {
    expect(
      modelChoice({ ...defaults, baseUrl: ["http://127.0.0.1:8000/v1/"], model: "m", apiKeyEnv: "NO_SUCH_KEY" }),
    ).toEqual({
      kind: "openai",
      endpoints: [{ url: "http://127.0.0.1:8000/v1", model: "m", weight: 1, maxConcurrency: 16, apiKey: undefined }],
      source: "--base-url",
      model: "m",
      concurrency: 16,
      timeoutMs: 120_000,
      maxRetries: 6,
    });
  });

  it("takes --base-url more than once, one endpoint each", () => {
    const command = addModelOptions(new Command().exitOverride());
    command.parse(["--base-url", "http://a/v1", "--base-url", "http://b/v1", "--model", "m"], { from: "user" });
    const choice = modelChoice(parseFlags(modelOptionsSchema(), command));
    expect(choice?.kind === "openai" && choice.endpoints.map((e) => e.url)).toEqual(["http://a/v1", "http://b/v1"]);
  });

  it.each([
    [{ model: "m" }, "", "--model: --model needs --base-url"],
    [{ baseUrl: ["http://x"] }, "", "--model: --base-url needs --model"],
    [
      { gguf: "a.gguf", hf: "dir" },
      "judge",
      "--judge-hf: give one of --judge-base-url, --judge-endpoints, --judge-gguf or --judge-hf, not --judge-gguf and --judge-hf",
    ],
  ])("refuses %j (prefix %j)", (given, prefix, message) => {
    expect(() => modelChoice({ ...defaults, ...given }, prefix)).toThrow(message);
  });
});

describe("the model flags", () => {
  const parse = (prefix: string, args: string[]) => {
    const command = addModelOptions(new Command().exitOverride(), prefix);
    command.parse(args, { from: "user" });
    return parseFlags(modelOptionsSchema(prefix), command);
  };

  it("parse prefixed numbers and keep the defaults of the rest", () => {
    expect(parse("judge", ["--judge-concurrency", "4", "--judge-gguf", "j.gguf"])).toEqual({
      ...defaults,
      concurrency: 4,
      gguf: "j.gguf",
    });
  });

  it("check ranges with the schema, naming the flag", () => {
    expect(() => parse("", ["--concurrency", "0"])).toThrow(/^command line:--concurrency: Too small/);
    expect(() => parse("judge", ["--judge-max-retries", "-1"])).toThrow(/^command line:--judge-max-retries: Too small/);
  });
});
