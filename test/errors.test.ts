import { describe, expect, it } from "vitest";
import { InputError, ProviderError } from "../src/errors.js";

describe("InputError", () => {
  it("names file, line and field, then the hint", () => {
    const error = new InputError("rows.jsonl", 7, "prompt", "must be a non-empty string", "add a prompt");
    expect(error.message).toBe("rows.jsonl:7:prompt: must be a non-empty string\n  hint: add a prompt");
  });
  it("omits parts it does not know", () => {
    expect(new InputError("types.yaml", undefined, undefined, "not found").message).toBe("types.yaml: not found");
  });
});

describe("ProviderError", () => {
  it("exposes whether it can be retried", () => {
    expect(new ProviderError("429", { status: 429, isRetryable: true }).isRetryable).toBe(true);
    expect(new ProviderError("400", { status: 400, isRetryable: false }).isRetryable).toBe(false);
  });
});
