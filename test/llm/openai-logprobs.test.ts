import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UnsupportedError } from "../../src/errors.js";
import { withRequestCache } from "../../src/llm/cache.js";
import { createOpenAIModel } from "../../src/llm/openai.js";
import { echoCompletions } from "../helpers/echo-server.js";
import { chatCompletion, startTestServer, type Handler, type TestServer } from "../helpers/openai-server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const fast = { minDelayMs: 5, maxDelayMs: 20 };

async function modelFor(handler: Handler, options: { batchSize?: number } = {}) {
  server = await startTestServer(handler);
  const model = createOpenAIModel({
    baseURL: server.baseURL,
    model: "test-model",
    batchSize: options.batchSize,
    retry: { ...fast, retries: 5 },
  });
  return { model, server };
}

describe("createOpenAIModel: batched log-likelihood prompts", () => {
  const batchingEcho = echoCompletions;
  const requests = Array.from({ length: 30 }, (_, i) => ({
    context: `Question ${i}: which colour is the sky at hour ${i % 7}? Answer:`,
    continuation: [" blue", " grey and wet", " red at dusk"][i % 3]!,
  }));

  async function scoreWith(batchSize: number, concurrency?: number) {
    server = await startTestServer(batchingEcho);
    const model = createOpenAIModel({ baseURL: server.baseURL, model: "m", batchSize, concurrency, retry: fast });
    const results = await model.logprobs(requests);
    const sent = server.requests.map((r) => r.body.prompt as string | string[]);
    await model.close?.();
    await server.close();
    server = undefined;
    return { results, sent };
  }

  it("sends up to batchSize prompts per request and gives exactly the one-at-a-time results", async () => {
    const single = await scoreWith(1);
    const batched = await scoreWith(8);
    expect(single.sent).toHaveLength(30);
    expect(single.sent.every((prompt) => typeof prompt === "string")).toBe(true);
    expect(batched.sent.map((prompts) => prompts.length)).toEqual([8, 8, 8, 6]);
    expect(batched.sent.flat()).toEqual(requests.map((r) => r.context + r.continuation));
    expect(batched.results).toEqual(single.results);
    // The sums are the continuation's words only: " grey and wet" is three of them.
    expect(single.results[1]!.tokenCount).toBe(3);
    expect(new Set(single.results.map((r) => r.isGreedy))).toEqual(new Set([true, false]));
  });

  it("fills each batch with the requests that wait while every slot is busy", async () => {
    const batched = await scoreWith(8, 1);
    expect(batched.sent.map((prompts) => prompts.length)).toEqual([8, 8, 8, 6]);
    expect(batched.results).toEqual((await scoreWith(1, 1)).results);
  });

  it("batches the requests the request cache sends one by one", async () => {
    server = await startTestServer(batchingEcho);
    const dir = mkdtempSync(join(tmpdir(), "seapo-cache-"));
    const model = withRequestCache(createOpenAIModel({ baseURL: server.baseURL, model: "m", batchSize: 16 }), { dir });
    const results = await model.logprobs(requests);
    expect(server.requests.map((r) => r.body.prompt.length)).toEqual([16, 14]);
    expect(results).toEqual((await scoreWith(1)).results);
  });

  it("says clearly when the server ignores echo, as this llama-server does (HTTP 200, the generated token only)", async () => {
    // The body the llama-server built from node-llama-cpp 3.22.1's llama.cpp (de3ff81) returned for
    // {prompt: "The sky is", echo: true, max_tokens: 1, logprobs: 1} (test/llm/llama-server.test.ts checks it live).
    const ignored = {
      choices: [
        {
          text: "P",
          index: 0,
          logprobs: {
            content: [
              {
                id: 80,
                token: "P",
                bytes: [80],
                logprob: -5.9175591468811035,
                top_logprobs: [{ id: 187, token: "\ufffd", bytes: [187], logprob: -5.782843589782715 }],
              },
            ],
          },
          finish_reason: "length",
        },
      ],
      created: 1796181516,
      model: "tiny",
      system_fingerprint: "b1-de3ff81",
      object: "text_completion",
      usage: { completion_tokens: 1, prompt_tokens: 7, total_tokens: 8 },
      id: "chatcmpl-myS6VLdnOtet6hY1iPtLjJc93uI9WY7x",
    };
    const { model } = await modelFor(() => ({ json: ignored }));
    const error = (await model
      .logprobs([{ context: "The sky", continuation: " is" }])
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error.message).toBe(
      `${server!.baseURL} (test-model) ignored echo: it returned the log-probs of the generated token only, in the chat shape llama.cpp's llama-server uses, not those of the prompt's tokens, which log-likelihood scoring needs. Serve the model with vLLM or SGLang, or run it in-process with --gguf or --hf`,
    );
  });

  it("turns llama-server's refusal of echo into one clear error for every request of the batch", async () => {
    // What llama-server builds with a live completions parser answer to echo (the message is in
    // tools/server/server-common.cpp of the llama.cpp node-llama-cpp ships; that build ignores echo instead).
    const { model, server } = await modelFor(
      () => ({
        status: 400,
        json: { error: { code: 400, message: "Only no echo is supported", type: "invalid_request_error" } },
      }),
      { batchSize: 2 },
    );
    const errors = await Promise.allSettled([
      model.logprobs([{ context: "a", continuation: "b" }]),
      model.logprobs([{ context: "c", continuation: "d" }]),
    ]);
    expect(server.requests.map((r) => r.body.prompt)).toEqual([["ab", "cd"]]); // one batch, not retried
    for (const settled of errors) {
      const error = (settled as PromiseRejectedResult).reason as Error;
      expect(error).toBeInstanceOf(UnsupportedError);
      expect(error.message).toMatch(
        /refused echo \(HTTP 400: 400 Only no echo is supported\): llama\.cpp's llama-server gives no log-probs of the prompt's tokens.*vLLM or SGLang.*--gguf or --hf/,
      );
    }
  });
});

describe("createOpenAIModel: log-probs of generated tokens", () => {
  it("asks chat completions for logprobs and top_logprobs and returns them best first", async () => {
    const { model, server } = await modelFor(() => ({
      json: {
        ...chatCompletion("Hi!"),
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Hi!" },
            finish_reason: "stop",
            logprobs: {
              content: [
                {
                  token: "Hi",
                  logprob: -0.25,
                  bytes: [72, 105],
                  top_logprobs: [
                    { token: "Hi", logprob: -0.25, bytes: [] },
                    { token: "Yo", logprob: -1.5, bytes: [] },
                  ],
                },
                { token: "!", logprob: -0.75, bytes: [33], top_logprobs: [{ token: "!", logprob: -0.75, bytes: [] }] },
              ],
            },
          },
        ],
      },
    }));
    const result = await model.generate({ messages: [{ role: "user", content: "greet" }], topLogprobs: 2 });
    expect(server.requests[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 2 });
    expect(result.logprobs).toEqual([
      {
        token: "Hi",
        logprob: -0.25,
        top: [
          { token: "Hi", logprob: -0.25 },
          { token: "Yo", logprob: -1.5 },
        ],
      },
      { token: "!", logprob: -0.75, top: [{ token: "!", logprob: -0.75 }] },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it("asks legacy completions for logprobs: n and sorts each position's alternatives", async () => {
    const { model, server } = await modelFor(() => ({
      json: {
        id: "c",
        object: "text_completion",
        created: 0,
        model: "m",
        choices: [
          {
            index: 0,
            text: " 42",
            finish_reason: "stop",
            logprobs: {
              tokens: [" 42"],
              token_logprobs: [-0.5],
              text_offset: [5],
              top_logprobs: [{ " 41": -2, " 42": -0.5 }],
            },
          },
        ],
      },
    }));
    const result = await model.generate({ prompt: "6*7 =", topLogprobs: 2 });
    expect(server.requests[0]!.body).toMatchObject({ prompt: "6*7 =", logprobs: 2 });
    expect(result.logprobs).toEqual([
      {
        token: " 42",
        logprob: -0.5,
        top: [
          { token: " 42", logprob: -0.5 },
          { token: " 41", logprob: -2 },
        ],
      },
    ]);
  });

  it("reads llama-server's legacy completions log-probs, which come in the chat shape", async () => {
    const { model } = await modelFor(() => ({
      json: {
        id: "c",
        object: "text_completion",
        created: 0,
        model: "m",
        choices: [
          {
            index: 0,
            text: " 42",
            finish_reason: "length",
            logprobs: {
              content: [
                {
                  id: 7,
                  token: " 42",
                  bytes: [],
                  logprob: -0.5,
                  top_logprobs: [{ id: 7, token: " 42", bytes: [], logprob: -0.5 }],
                },
              ],
            },
          },
        ],
      },
    }));
    const result = await model.generate({ prompt: "6*7 =", topLogprobs: 1 });
    expect(result.logprobs).toEqual([{ token: " 42", logprob: -0.5, top: [{ token: " 42", logprob: -0.5 }] }]);
  });

  it("sends no logprobs field unless asked, and warns when asked ones do not come back", async () => {
    const { model, server } = await modelFor(() => ({ json: chatCompletion("plain") }));
    const plain = await model.generate({ messages: [{ role: "user", content: "x" }] });
    expect(server.requests[0]!.body).not.toHaveProperty("logprobs");
    expect(plain).not.toHaveProperty("logprobs");
    const asked = await model.generate({ messages: [{ role: "user", content: "x" }], topLogprobs: 0 });
    expect(asked.logprobs).toEqual([]);
    expect(asked.warnings).toEqual([
      "topLogprobs was asked for, but the server returned no log-probs for the generated tokens",
    ]);
  });
});
