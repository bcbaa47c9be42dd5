import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaModel, loadHfModel, noGrad, ops, scoreContinuations, type HfTokenizer } from "../../src/engine/index.js";
import { createEngineModel } from "../../src/llm/engine.js";
import { createOpenAIModel } from "../../src/llm/openai.js";
import type { LanguageModel, LogprobRequest } from "../../src/llm/provider.js";
import { STORIES_HF } from "../engine/real/stories260k.js";
import { postJson, startServe, type ServeProcess } from "../helpers/seapo-serve.js";
import { tinyHfModel } from "../helpers/tiny-hf-model.js";

/**
 * `seapo serve` as a real process on 127.0.0.1 (the built CLI), on two real tokenizers: a `seapo model
 * init` llama (byte-level BPE, BOS added) and stories260K (SentencePiece with byte fallback). Every
 * echoed log-prob is checked against the engine's own scoreContinuations, token by token.
 */
interface Served {
  name: string;
  dir: string;
  serve: ServeProcess;
  engine: LanguageModel;
  model: LlamaModel;
  tokenizer: HfTokenizer;
}

const PROMPTS = [
  "Question: what is 2+2?\nAnswer: 4",
  "Once upon a time, héllo wörld 😀 there was a cat.",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
];

const served: Served[] = [];
beforeAll(async () => {
  for (const [name, dir] of [
    ["tiny", await tinyHfModel(3)],
    ["stories260K", STORIES_HF],
  ] as const) {
    const { config, weights, tokenizer } = await loadHfModel(dir);
    served.push({
      name,
      dir,
      serve: await startServe(["--hf", dir, "--served-model-name", name, "--batch-size", "2"]),
      engine: await createEngineModel({ dir }),
      model: LlamaModel.fromWeights(config, weights),
      tokenizer,
    });
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(served.map((s) => s.serve.stop()));
});

/** The engine's log-prob of each token of `ids` given the ones before it (scoreContinuations, one request per token). */
function engineTokenLogprobs(model: LlamaModel, ids: number[]): number[] {
  const requests = ids.slice(1).map((id, i) => ({ contextIds: ids.slice(0, i + 1), continuationIds: [id] }));
  return scoreContinuations(model, requests).map((s) => s.logprob);
}

/** The largest log-prob at each position (the model's forward, log-softmax per row). */
function engineBestLogprobs(model: LlamaModel, ids: number[]): number[] {
  const logprobs = noGrad(() => ops.logSoftmax(model.forward([ids.slice(0, -1)])));
  const V = logprobs.dim(-1);
  return ids.slice(1).map((_, t) => Math.max(...logprobs.data.subarray(t * V, (t + 1) * V)));
}

describe.each([0, 1])("seapo serve (model %i)", (which) => {
  const s = () => served[which]!;

  it("prints its base URL first and lists the served model", async () => {
    expect(s().serve.baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const list = (await (await fetch(`${s().serve.baseURL}/models`)).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((m) => m.id)).toEqual([s().name]);
  });

  it("echo with max_tokens 0 returns every prompt token's log-prob, equal to the engine's, in the legacy shape", async () => {
    const { status, json } = await postJson(`${s().serve.baseURL}/completions`, {
      model: s().name,
      prompt: PROMPTS,
      echo: true,
      logprobs: 3,
      max_tokens: 0,
      temperature: 0,
    });
    expect(status).toBe(200);
    expect(json.choices).toHaveLength(PROMPTS.length);
    PROMPTS.forEach((prompt, i) => {
      const choice = json.choices.find((c: { index: number }) => c.index === i);
      const ids = s().tokenizer.encode(prompt, { addSpecialTokens: true });
      const lp = choice.logprobs;
      expect(choice.text).toBe(prompt);
      expect(lp.tokens).toHaveLength(ids.length);
      expect(lp.token_logprobs[0]).toBeNull();
      expect(lp.top_logprobs[0]).toBeNull();
      const reference = engineTokenLogprobs(s().model, ids);
      lp.token_logprobs.slice(1).forEach((value: number, t: number) => {
        expect(Math.abs(value - reference[t]!)).toBeLessThanOrEqual(1e-6);
      });
      // Each token's text sits at its offset; the pieces of the text tokens join into the prompt.
      lp.tokens.forEach((token: string, t: number) => {
        if (t > 0) expect(prompt.slice(lp.text_offset[t], lp.text_offset[t] + token.length)).toBe(token);
      });
      expect(lp.tokens.slice(1).join("")).toBe(prompt);
      // top_logprobs: the best alternative is the position's most likely token, and the token itself is there.
      const best = engineBestLogprobs(s().model, ids);
      for (let t = 1; t < ids.length; t++) {
        const top = lp.top_logprobs[t] as Record<string, number>;
        expect(Math.abs(Math.max(...Object.values(top)) - best[t - 1]!)).toBeLessThanOrEqual(1e-6);
        expect(top[lp.tokens[t]]).toBeGreaterThanOrEqual(lp.token_logprobs[t]);
      }
    });
    expect(json.usage.completion_tokens).toBe(0);
  });

  it("seapo's OpenAI provider reads the echoed log-probs back as the engine provider scores them", async () => {
    const requests: LogprobRequest[] = [
      { context: "Question: what is 2+2?\nAnswer:", continuation: " 4" },
      { context: "Once upon a time", continuation: " there was a cat" },
      { context: "héllo", continuation: " wörld 😀" },
      { context: "The answer is", continuation: " (A)" },
      { context: "Q: capital of France?\nA:", continuation: " Paris" },
    ];
    for (const batchSize of [1, 4]) {
      const client = createOpenAIModel({ baseURL: s().serve.baseURL, model: s().name, batchSize });
      expect(await client.logprobs(requests)).toEqual(await s().engine.logprobs(requests));
      await client.close?.();
    }
  });

  it("token-id prompts (as lm-evaluation-harness sends them) give the same log-probs as the text", async () => {
    const prompt = PROMPTS[1]!;
    const ids = s().tokenizer.encode(prompt, { addSpecialTokens: true });
    const echo = (p: unknown) =>
      postJson(`${s().serve.baseURL}/completions`, {
        prompt: p,
        echo: true,
        logprobs: 1,
        max_tokens: 1,
        temperature: 0,
      });
    const byText = await echo(prompt);
    const byIds = await echo([ids]);
    expect(byIds.json.choices[0].logprobs.token_logprobs).toEqual(byText.json.choices[0].logprobs.token_logprobs);
    // lm-evaluation-harness's parse_logprobs: the tokens after the context, but the generated last one.
    expect(byIds.json.choices[0].logprobs.token_logprobs).toHaveLength(ids.length + 1);
  });

  it("a prompt longer than the context keeps its end, and its log-probs do not depend on max_tokens", async () => {
    const context = s().model.config.maxPositionEmbeddings;
    const line = "Q: Where were the 1992 Olympics held?\nA: Barcelona, Spain.\n\n";
    const perLine = s().tokenizer.encode(line, { addSpecialTokens: false }).length;
    const prompt = line.repeat(Math.ceil((context + 60) / perLine));
    const echo = (maxTokens: number) =>
      postJson(`${s().serve.baseURL}/completions`, {
        prompt,
        echo: true,
        logprobs: 0,
        max_tokens: maxTokens,
        temperature: 0,
      });
    const [none, one] = [(await echo(0)).json.choices[0].logprobs, (await echo(1)).json.choices[0].logprobs];
    const ids = s().tokenizer.encode(prompt, { addSpecialTokens: true });
    expect(ids.length).toBeGreaterThan(context + 40);
    expect(one.token_logprobs.slice(0, ids.length)).toEqual(none.token_logprobs);
    // The last 513 tokens are scored (the first of them predicted by nothing), as the engine's log-likelihood requests cut a context.
    const scored = none.token_logprobs.filter((x: number | null) => x !== null);
    expect(scored).toHaveLength(context);
    const request = { context: prompt.slice(0, -40), continuation: prompt.slice(-40) };
    const client = createOpenAIModel({ baseURL: s().serve.baseURL, model: s().name });
    expect(await client.logprobs([request])).toEqual(await s().engine.logprobs([request]));
    await client.close?.();
  });

  it("generates what the engine provider generates, greedy and seeded, stop strings included", async () => {
    const settings = [
      { temperature: 0, maxTokens: 24 },
      { temperature: 0.8, topP: 0.95, seed: 7, maxTokens: 24 },
      { temperature: 0, maxTokens: 40, stop: [" "] },
    ];
    const client = createOpenAIModel({ baseURL: s().serve.baseURL, model: s().name });
    for (const setting of settings) {
      const viaServer = await client.generate({ prompt: "Once upon a time", ...setting });
      const inProcess = await s().engine.generate({ prompt: "Once upon a time", ...setting });
      expect(viaServer.text).toBe(inProcess.text);
      expect(viaServer.finishReason.unified).toBe(inProcess.finishReason.unified);
      expect(viaServer.usage).toEqual(inProcess.usage);
      const chat = { messages: [{ role: "user" as const, content: "Tell me a story." }], ...setting };
      expect((await client.generate(chat)).text).toBe((await s().engine.generate(chat)).text);
    }
    await client.close?.();
  });

  it("chat log-probs: each generated token with its log-prob and the top alternatives", async () => {
    const { json } = await postJson(`${s().serve.baseURL}/chat/completions`, {
      model: s().name,
      messages: [{ role: "user", content: "Tell me a story." }],
      max_tokens: 8,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const choice = json.choices[0];
    const content = choice.logprobs.content as Array<{
      token: string;
      logprob: number;
      top_logprobs: Array<{ logprob: number }>;
    }>;
    expect(content.length).toBeGreaterThan(0);
    // Greedy: each token is its position's best alternative.
    for (const entry of content) {
      expect(entry.top_logprobs).toHaveLength(2);
      expect(entry.top_logprobs[0]!.logprob).toBe(entry.logprob);
    }
    expect(content.map((e) => e.token).join("")).toBe(choice.message.content);
  });
});

describe("seapo serve errors", () => {
  const url = () => served[0]!.serve.baseURL;
  const cases: Array<[string, unknown, number, RegExp, string | null]> = [
    ["n > 1", { prompt: "x", n: 2 }, 400, /n must be 1/, "n"],
    ["streaming", { prompt: "x", stream: true }, 400, /streaming is not supported/, "stream"],
    ["a bad field", { prompt: "x", max_tokens: -1 }, 400, /max_tokens/, "max_tokens"],
    [
      "a token id outside the vocabulary",
      { prompt: [99999], max_tokens: 0, echo: true },
      400,
      /outside the vocabulary/,
      null,
    ],
    ["another model", { model: "other", prompt: "x" }, 404, /"other" does not exist/, "model"],
  ];
  it.each(cases)("refuses %s with an OpenAI-style error", async (_what, body, status, message, param) => {
    const reply = await postJson(`${url()}/completions`, body);
    expect(reply.status).toBe(status);
    expect(reply.json.error.message).toMatch(message);
    expect(reply.json.error.param).toBe(param);
    expect(reply.json.error.type).toBe("invalid_request_error");
  });

  it("refuses JSON-schema response formats on chat, bad JSON, unknown routes and wrong methods", async () => {
    const schema = await postJson(`${url()}/chat/completions`, {
      messages: [{ role: "user", content: "hi" }],
      response_format: { type: "json_schema", json_schema: { name: "a", schema: {} } },
    });
    expect(schema.status).toBe(400);
    expect(schema.json.error.message).toMatch(/json_schema are not supported/);
    expect((await postJson(`${url()}/completions`, "{not json")).status).toBe(400);
    expect((await postJson(`${url()}/embeddings`, {})).status).toBe(404);
    expect((await fetch(`${url()}/completions`)).status).toBe(405);
  });

  it("stops cleanly on SIGTERM", async () => {
    const serve = await startServe(["--hf", served[0]!.dir]);
    const result = await serve.stop();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("stopped (SIGTERM)");
    await expect(fetch(`${serve.baseURL}/models`)).rejects.toThrow();
  });
});
