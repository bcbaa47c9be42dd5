import { afterEach, describe, expect, it } from "vitest";
import { ProviderError, UnsupportedError } from "../../src/errors.js";
import { createOpenAIModel } from "../../src/llm/openai.js";
import { withRequestCache } from "../../src/llm/cache.js";
import { chatCompletion, startTestServer, type Handler, type TestServer } from "../helpers/openai-server.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const fast = { minDelayMs: 5, maxDelayMs: 20 };

async function modelFor(handler: Handler, options: { timeoutMs?: number; retries?: number; apiKey?: string } = {}) {
  server = await startTestServer(handler);
  const retries: number[] = [];
  const model = createOpenAIModel({
    baseURL: server.baseURL,
    model: "test-model",
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs,
    retry: { ...fast, retries: options.retries ?? 5 },
    onRetry: (event) => retries.push(event.attempt),
  });
  return { model, retries, server };
}

describe("createOpenAIModel: generation", () => {
  it("sends chat messages with the paper's defaults and maps the reply", async () => {
    const { model, server } = await modelFor(() => ({
      json: chatCompletion("rewritten", { promptTokens: 12, completionTokens: 3 }),
    }));
    const result = await model.generate({ messages: [{ role: "user", content: "hi" }] });
    expect(result).toMatchObject({
      text: "rewritten",
      finishReason: { unified: "stop" },
      usage: { inputTokens: 12, outputTokens: 3 },
    });
    const sent = server.requests[0]!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.body).toMatchObject({
      model: "test-model",
      temperature: 0,
      max_tokens: 1024,
      messages: [{ role: "user", content: "hi" }],
    });
  });

  it("reports truncation as finish reason length", async () => {
    const { model } = await modelFor(() => ({ json: chatCompletion("cut", { finishReason: "length" }) }));
    const result = await model.generate({ messages: [{ role: "user", content: "hi" }], maxTokens: 2 });
    expect(result.finishReason).toEqual({ unified: "length", raw: "length" });
  });

  it("sends a raw prompt to legacy completions, without a chat template", async () => {
    const { model, server } = await modelFor(() => ({
      json: {
        id: "c",
        object: "text_completion",
        created: 0,
        model: "m",
        choices: [{ index: 0, text: " 42", finish_reason: "stop", logprobs: null }],
      },
    }));
    const result = await model.generate({ prompt: "Q: 6*7?\nA:", stop: ["\n"] });
    expect(result.text).toBe(" 42");
    expect(server.requests[0]!.path).toBe("/v1/completions");
    expect(server.requests[0]!.body).toMatchObject({ prompt: "Q: 6*7?\nA:", stop: ["\n"] });
  });

  it("sends the API key as a bearer token and keeps it out of error messages", async () => {
    const { model, server } = await modelFor(() => ({ status: 401, json: { error: { message: "bad key" } } }), {
      apiKey: "sk-secret-123",
    });
    const error = await model.generate({ messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(String((error as Error).message)).not.toContain("sk-secret-123");
    expect(server.requests[0]!.headers.authorization).toBe("Bearer sk-secret-123");
  });

  it("validates JSON replies against the schema", async () => {
    const { model, server } = await modelFor(({ count }) => ({
      json: chatCompletion(count === 1 ? '```json\n{"ok": true, "n": 3}\n```' : '{"ok": "yes"}'),
    }));
    const schema = z.object({ ok: z.boolean(), n: z.number() });
    const good = await model.generateJson({ messages: [{ role: "user", content: "json" }], schema });
    expect(good.value).toEqual({ ok: true, n: 3 });
    expect(server.requests[0]!.body.response_format.type).toBe("json_schema");
    await expect(model.generateJson({ messages: [{ role: "user", content: "json" }], schema })).rejects.toThrow(
      /does not match the schema/,
    );
  });
});

describe("createOpenAIModel: faults", () => {
  const ok = () => ({ json: chatCompletion("fine") });
  const ask = (model: Awaited<ReturnType<typeof modelFor>>["model"]) =>
    model.generate({ messages: [{ role: "user", content: "x" }] });

  it("honours Retry-After on 429", async () => {
    const { model, retries } = await modelFor(({ count }) =>
      count === 1
        ? { status: 429, headers: { "retry-after": "0.4" }, json: { error: { message: "rate limited" } } }
        : ok(),
    );
    const started = Date.now();
    expect((await ask(model)).text).toBe("fine");
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(retries).toEqual([1]);
  });

  it("retries 500s until the server recovers", async () => {
    const { model, server } = await modelFor(({ count }) =>
      count <= 3 ? { status: 500, json: { error: { message: "boom" } } } : ok(),
    );
    expect((await ask(model)).text).toBe("fine");
    expect(server.requests).toHaveLength(4);
  });

  it("retries a dropped connection", async () => {
    const { model, server } = await modelFor(({ count }) => (count === 1 ? { destroy: true } : ok()));
    expect((await ask(model)).text).toBe("fine");
    expect(server.requests).toHaveLength(2);
  });

  it("times out a slow reply and retries it", async () => {
    const { model, server } = await modelFor(({ count }) => (count === 1 ? { delayMs: 1500, ...ok() } : ok()), {
      timeoutMs: 300,
    });
    expect((await ask(model)).text).toBe("fine");
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
  });

  it("does not retry a 400", async () => {
    const { model, server } = await modelFor(() => ({ status: 400, json: { error: { message: "prompt too long" } } }));
    const error = await ask(model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).options.status).toBe(400);
    expect(server.requests).toHaveLength(1);
  });

  it("gives up after the retry budget with the last error", async () => {
    const { model, server } = await modelFor(() => ({ status: 503, json: { error: { message: "overloaded" } } }), {
      retries: 2,
    });
    await expect(ask(model)).rejects.toThrow(/503/);
    expect(server.requests).toHaveLength(3);
  });
});

describe("createOpenAIModel: log-probs", () => {
  // The server tokenises "The sky is blue" as ["The", " sky", " is", " blue"], echoes the prompt's
  // tokens and appends one generated token (".").
  const echo: Handler = ({ body }) => {
    const table = [
      { token: "The", offset: 0, logprob: null, top: null },
      { token: " sky", offset: 3, logprob: -2, top: { " sky": -2 } },
      { token: " is", offset: 7, logprob: -0.5, top: { " is": -0.5 } },
      { token: " blue", offset: 10, logprob: -1.25, top: { " red": -0.9 } },
    ].filter((t) => t.offset < (body.prompt as string).length);
    const generated = { token: ".", offset: (body.prompt as string).length, logprob: -0.1, top: { ".": -0.1 } };
    const all = [...table, generated];
    return {
      json: {
        id: "c",
        object: "text_completion",
        created: 0,
        model: "m",
        choices: [
          {
            index: 0,
            text: `${body.prompt}.`,
            finish_reason: "length",
            logprobs: {
              tokens: all.map((t) => t.token),
              token_logprobs: all.map((t) => t.logprob),
              text_offset: all.map((t) => t.offset),
              top_logprobs: all.map((t) => t.top),
            },
          },
        ],
      },
    };
  };

  it("sums the continuation's tokens only and tells whether they were greedy", async () => {
    const { model, server } = await modelFor(echo);
    const [result] = await model.logprobs([{ context: "The sky", continuation: " is blue" }]);
    expect(result!.logprob).toBeCloseTo(-0.5 + -1.25, 10);
    expect(result!.tokenCount).toBe(2);
    expect(result!.isGreedy).toBe(false); // " red" beat " blue"
    expect(server.requests[0]!.body).toMatchObject({ echo: true, logprobs: 1, temperature: 0 });
  });

  it("is greedy when every continuation token was the top one", async () => {
    const { model } = await modelFor(echo);
    const [result] = await model.logprobs([{ context: "The", continuation: " sky is" }]);
    expect(result!.logprob).toBeCloseTo(-2.5, 10);
    expect(result!.tokenCount).toBe(2);
    expect(result!.isGreedy).toBe(true);
  });

  it("says clearly when the server gives no prompt log-probs", async () => {
    const { model } = await modelFor(() => ({
      json: {
        id: "c",
        object: "text_completion",
        created: 0,
        model: "m",
        choices: [{ index: 0, text: "x", finish_reason: "stop", logprobs: null }],
      },
    }));
    await expect(model.logprobs([{ context: "a", continuation: "b" }])).rejects.toBeInstanceOf(UnsupportedError);
  });
});

describe("withRequestCache", () => {
  it("answers a repeated request from disk without calling the server", async () => {
    const { model, server } = await modelFor(({ count }) => ({ json: chatCompletion(`reply ${count}`) }));
    const dir = mkdtempSync(join(tmpdir(), "seapo-cache-"));
    const first = withRequestCache(model, { dir });
    const request = { messages: [{ role: "user" as const, content: "same" }], temperature: 0 };
    expect((await first.generate(request)).text).toBe("reply 1");
    // A new wrapper over the same folder: a later run after a crash.
    const second = withRequestCache(model, { dir });
    expect((await second.generate({ temperature: 0, messages: [{ role: "user", content: "same" }] })).text).toBe(
      "reply 1",
    );
    expect(second.cacheStats).toEqual({ hits: 1, misses: 0 });
    expect((await second.generate({ ...request, temperature: 0.5 })).text).toBe("reply 2");
    expect(server.requests).toHaveLength(2);
  });

  it("a later process finds the entries on disk, after a torn last line from a kill", async () => {
    const { server } = await modelFor(({ count }) => ({ json: chatCompletion(`reply ${count}`) }));
    const dir = mkdtempSync(join(tmpdir(), "seapo-cache-"));
    const script = `
      import { createOpenAIModel } from ${JSON.stringify(new URL("../../dist/llm/openai.js", import.meta.url).href)};
      import { withRequestCache } from ${JSON.stringify(new URL("../../dist/llm/cache.js", import.meta.url).href)};
      const model = withRequestCache(createOpenAIModel({ baseURL: process.argv[1], model: "m" }), { dir: process.argv[2] });
      const texts = [];
      for (const content of ["one", "two"]) texts.push((await model.generate({ messages: [{ role: "user", content }] })).text);
      console.log(JSON.stringify({ texts, stats: model.cacheStats }));
      await model.close();`;
    // A child process, run asynchronously: this process must stay free to serve its requests.
    const run = async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        "--input-type=module",
        "-e",
        script,
        server.baseURL,
        dir,
      ]);
      return JSON.parse(stdout.trim()) as { texts: string[]; stats: { hits: number; misses: number } };
    };
    expect(await run()).toEqual({ texts: ["reply 1", "reply 2"], stats: { hits: 0, misses: 2 } });
    appendFileSync(join(dir, "requests.jsonl"), '{"key":"00');
    expect(await run()).toEqual({ texts: ["reply 1", "reply 2"], stats: { hits: 2, misses: 0 } });
    expect(server.requests).toHaveLength(2);
  });
});
