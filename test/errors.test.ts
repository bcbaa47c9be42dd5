import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InputError, ProviderError, SeapoError, zodInputError } from "../src/errors.js";
import { withRetry } from "../src/llm/retry.js";

describe("InputError", () => {
  it("names file, line and field, then the hint", () => {
    const error = new InputError("rows.jsonl", 7, "prompt", "must be a non-empty string", "add a prompt");
    expect(error.message).toBe("rows.jsonl:7:prompt: must be a non-empty string\n  hint: add a prompt");
  });
  it("omits parts it does not know", () => {
    expect(new InputError("types.yaml", undefined, undefined, "not found").message).toBe("types.yaml: not found");
  });
  it("is a SeapoError, which the CLI prints without a stack", () => {
    const error = new InputError("a.json", undefined, undefined, "bad");
    expect(error).toBeInstanceOf(SeapoError);
    expect(error.name).toBe("InputError");
  });
});

describe("zodInputError", () => {
  it("names the path of the first issue", () => {
    const parsed = z.object({ kto: z.object({ desirable: z.number() }) }).safeParse({ kto: { desirable: "x" } });
    const error = zodInputError(parsed.error!, "stats.json", undefined, "expected the stats.json of seapo inject");
    expect(error.message).toBe(
      "stats.json:kto.desirable: Invalid input: expected number, received string\n  hint: expected the stats.json of seapo inject",
    );
  });
  it("leaves the field out when the whole value is wrong", () => {
    const parsed = z.object({}).safeParse(3);
    expect(zodInputError(parsed.error!, "m.json", 2).message).toBe(
      "m.json:2: Invalid input: expected object, received number",
    );
  });
});

describe("ProviderError", () => {
  /** Calls that fail with `error` until the third attempt; returns how many were made. */
  async function attempts(error: ProviderError): Promise<{ calls: number; outcome: unknown }> {
    let calls = 0;
    const outcome = await withRetry(
      async () => {
        if (++calls < 3) throw error;
        return "ok";
      },
      { policy: { retries: 4, minDelayMs: 1, maxDelayMs: 1 } },
    ).catch((thrown: unknown) => thrown);
    return { calls, outcome };
  }

  it("a retryable one (429, 5xx) is sent again until it succeeds", async () => {
    expect(await attempts(new ProviderError("HTTP 429", { status: 429, isRetryable: true }))).toEqual({
      calls: 3,
      outcome: "ok",
    });
  });

  it("a non-retryable one (4xx) fails at the first attempt, as itself", async () => {
    const error = new ProviderError("HTTP 400", { status: 400, isRetryable: false });
    const { calls, outcome } = await attempts(error);
    expect(calls).toBe(1);
    expect(outcome).toBe(error);
  });
});
