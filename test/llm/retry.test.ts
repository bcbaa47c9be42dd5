import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors.js";
import { isRetryableStatus, parseRetryAfter, withRetry } from "../../src/llm/retry.js";

const headers = (entries: Record<string, string>) => new Headers(entries);

describe("parseRetryAfter", () => {
  it.each([
    [{ "retry-after": "2" }, 2000],
    [{ "retry-after": "0.5" }, 500],
    [{ "retry-after-ms": "150" }, 150],
    [{}, undefined],
    [{ "retry-after": "soon" }, undefined],
  ])("%o → %s ms", (entries, expected) => {
    expect(parseRetryAfter(headers(entries))).toBe(expected);
  });

  it("reads an HTTP date as the time until then", () => {
    const inFive = new Date(Date.now() + 5000).toUTCString();
    const ms = parseRetryAfter(headers({ "retry-after": inFive }))!;
    expect(ms).toBeGreaterThan(3000);
    expect(ms).toBeLessThanOrEqual(5000);
  });
});

describe("isRetryableStatus", () => {
  it.each([
    [429, true],
    [500, true],
    [503, true],
    [408, true],
    [400, false],
    [401, false],
    [404, false],
    [422, false],
  ])("%i → %s", (status, expected) => expect(isRetryableStatus(status)).toBe(expected));
});

describe("withRetry", () => {
  const fast = { minDelayMs: 1, maxDelayMs: 2 };

  it("retries retryable errors until the call succeeds", async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw new ProviderError("busy", { status: 503, isRetryable: true });
        return "done";
      },
      { policy: fast },
    );
    expect(result).toBe("done");
    expect(calls).toBe(3);
  });

  it("fails at once on an error that is not retryable", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new ProviderError("bad request", { status: 400, isRetryable: false });
        },
        { policy: fast },
      ),
    ).rejects.toThrow("bad request");
    expect(calls).toBe(1);
  });

  it("never retries a programmer error", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new TypeError("undefined is not a function");
        },
        { policy: fast },
      ),
    ).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
  });

  it("waits at least the Retry-After the server asked for", async () => {
    let calls = 0;
    const waits: number[] = [];
    const started = Date.now();
    await withRetry(
      async () => {
        if (++calls === 1) throw new ProviderError("slow down", { status: 429, isRetryable: true, retryAfterMs: 300 });
        return "ok";
      },
      { policy: fast, onRetry: (event) => waits.push(event.waitMs) },
    );
    expect(waits).toEqual([300]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("gives up after the retry budget", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new ProviderError("down", { status: 500, isRetryable: true });
        },
        { policy: { ...fast, retries: 2 } },
      ),
    ).rejects.toThrow("down");
    expect(calls).toBe(3);
  });
});
