import { getLlama, LlamaLogLevel, type Llama, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ProviderError } from "../../src/errors.js";
import { createLlamaCppModel } from "../../src/llm/llama-cpp.js";
import type { LanguageModel } from "../../src/llm/provider.js";
import { tinyGgufPath } from "../helpers/tiny-gguf.js";

/**
 * Runs the real node-llama-cpp on the tiny random Llama from test/helpers/tiny-gguf.ts. Its output
 * head favours printable ASCII and never ends a turn by itself, so generation runs to maxTokens or a
 * stop string.
 */
let lm: LanguageModel;
let ggufPath: string;
beforeAll(async () => {
  ggufPath = await tinyGgufPath();
  lm = await createLlamaCppModel({ ggufPath, sequences: 4 });
});
afterAll(async () => {
  await lm?.close?.();
});

const PROMPT = "Question: what is 2+2?\nAnswer:";

describe("createLlamaCppModel", () => {
  it("loads the GGUF and names it", () => {
    expect(lm.provider).toBe("llama-cpp");
    expect(lm.modelId).toBe("seapo-tiny-llama-seed1");
  });

  it("survives being spread into another object, as openModel does", async () => {
    const spread = { ...lm, cacheStats: { hits: 0, misses: 0 } };
    expect((await spread.generate({ prompt: "The cat", maxTokens: 3 })).usage.outputTokens).toBe(3);
  });

  it("fails with a ProviderError for a missing file", async () => {
    await expect(createLlamaCppModel({ ggufPath: `${ggufPath}.missing` })).rejects.toBeInstanceOf(ProviderError);
  });
});

describe("generate", () => {
  it("is deterministic when greedy, stops at maxTokens and counts tokens", async () => {
    const first = await lm.generate({ prompt: "The cat", maxTokens: 12 });
    const second = await lm.generate({ prompt: "The cat", maxTokens: 12 });
    expect(second.text).toBe(first.text);
    expect(first.text.length).toBeGreaterThan(0);
    expect(first.finishReason).toEqual({ unified: "length", raw: "maxTokens" });
    // "The cat" is T, he, Ġc, at under the tiny vocabulary's merges.
    expect(first.usage).toEqual({ inputTokens: 4, outputTokens: 12 });
    expect(first.warnings).toEqual([]);
  });

  it("applies the chat template to messages and not to a raw prompt", async () => {
    const chat = await lm.generate({ messages: [{ role: "user", content: "The cat" }], maxTokens: 10 });
    const raw = await lm.generate({ prompt: "The cat", maxTokens: 10 });
    const handTemplated = await lm.generate({
      prompt: "<|im_start|>user\nThe cat<|im_end|>\n<|im_start|>assistant\n",
      maxTokens: 10,
    });
    expect(chat.text).not.toBe(raw.text);
    expect(chat.text).toBe(handTemplated.text);
    expect(chat.usage.inputTokens).toBe(handTemplated.usage.inputTokens);
  });

  it("keeps each chat request independent of the ones before it", async () => {
    const messages = [
      { role: "system" as const, content: "Answer." },
      { role: "user" as const, content: "hello" },
    ];
    const alone = await lm.generate({ messages, maxTokens: 8 });
    await lm.generate({ messages: [{ role: "user", content: "something else entirely" }], maxTokens: 8 });
    expect((await lm.generate({ messages, maxTokens: 8 })).text).toBe(alone.text);
  });

  it("stops at a stop string and leaves it out", async () => {
    const full = await lm.generate({ prompt: PROMPT, maxTokens: 20 });
    const stop = full.text.slice(6, 8);
    const cut = full.text.indexOf(stop);
    expect(cut).toBeGreaterThan(0);
    const stopped = await lm.generate({ prompt: PROMPT, maxTokens: 20, stop: ["@@never@@", stop] });
    expect(stopped.text).toBe(full.text.slice(0, cut));
    expect(stopped.finishReason.unified).toBe("stop");
    expect(stopped.usage.outputTokens).toBeLessThan(20);
  });

  it("streams text chunks that add up to the reply, the stop string left out", async () => {
    const full = await lm.generate({ prompt: PROMPT, maxTokens: 20 });
    const stop = full.text.slice(6, 8);
    const chunks: string[] = [];
    const onText = (chunk: string) => chunks.push(chunk);
    const streamed = await lm.generate({ prompt: PROMPT, maxTokens: 20, stop: [stop], onText });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(streamed.text);
    expect(streamed.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  it("samples reproducibly with a seed", async () => {
    const sample = (seed: number) => lm.generate({ prompt: PROMPT, maxTokens: 16, temperature: 1, seed });
    const [a, b, c] = await Promise.all([sample(7), sample(7), sample(8)]);
    expect(b!.text).toBe(a!.text);
    expect(c!.text).not.toBe(a!.text);
  });

  it("lowers maxTokens to what the context can hold, with a warning", async () => {
    const result = await lm.generate({ prompt: "The cat", maxTokens: 5000 });
    expect(result.warnings).toEqual(["maxTokens lowered from 5000 to 251 to fit the context"]);
    expect(result.usage.outputTokens).toBe(251);
  });

  it("passes node-llama-cpp options through providerOptions and warns about the rest", async () => {
    const plain = await lm.generate({ prompt: "The cat", maxTokens: 12 });
    const penalised = await lm.generate({
      prompt: "The cat",
      maxTokens: 12,
      providerOptions: { repeatPenalty: { penalty: 2 }, frequency_penalty: 1 },
    });
    expect(penalised.warnings).toEqual([
      "providerOptions.frequency_penalty is not a node-llama-cpp generation option here; ignored",
    ]);
    expect(penalised.text).not.toBe(plain.text); // greedy "/(/(/(..." loops; a strong repeat penalty breaks the loop
  });

  it.each([0, -1, 2.5])("refuses maxTokens %s", async (maxTokens) => {
    await expect(lm.generate({ prompt: "The cat", maxTokens })).rejects.toThrow(/positive integer/);
  });

  it("refuses a prompt longer than the context", async () => {
    const error = await lm.generate({ prompt: "x!".repeat(300) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).isRetryable).toBe(false);
  });

  it("rejects a request already aborted", async () => {
    await expect(lm.generate({ prompt: "The cat", signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });
});

describe("generateJson", () => {
  // Only bounded fields: the grammar bounds neither a number's digits nor a string's length, and the
  // random model would happily fill maxTokens with either.
  const schema = z.object({
    ok: z.boolean(),
    kind: z.enum(["alpha", "beta"]),
    tags: z.array(z.enum(["x", "y"])).max(3),
  });

  it("constrains the reply to the schema", async () => {
    const result = await lm.generateJson({
      messages: [{ role: "user", content: "Give JSON." }],
      schema,
      maxTokens: 200,
    });
    expect(schema.safeParse(result.value).success).toBe(true);
    expect(JSON.parse(result.text)).toEqual(result.value);
  });

  it("throws a non-retryable ProviderError when the JSON is cut short", async () => {
    const error = await lm.generateJson({ prompt: "JSON:", schema, maxTokens: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).isRetryable).toBe(false);
    expect((error as Error).message).toMatch(/stopped at the token limit/);
  });
});

describe("logprobs", () => {
  it("gives log-probs ≤ 0 and counts the continuation's tokens", async () => {
    const results = await lm.logprobs([
      { context: "The cat", continuation: " the cat" }, // Ġthe, Ġc, at
      { context: "", continuation: "hello" }, // scored after BOS: he, l, l, o
      { context: "The cat", continuation: "" },
    ]);
    expect(results[0]!.tokenCount).toBe(3);
    expect(results[1]!.tokenCount).toBe(4);
    expect(results[2]).toEqual({ logprob: 0, isGreedy: true, tokenCount: 0 });
    for (const { logprob } of results) {
      expect(Number.isFinite(logprob)).toBe(true);
      expect(logprob).toBeLessThanOrEqual(0);
    }
    expect(results[0]!.logprob).toBeLessThan(0);
  });

  it("adds up across a split continuation", async () => {
    const [whole, first, second] = await lm.logprobs([
      { context: "The cat", continuation: " sat on the mat" },
      { context: "The cat", continuation: " sat" },
      { context: "The cat sat", continuation: " on the mat" },
    ]);
    expect(whole!.tokenCount).toBe(first!.tokenCount + second!.tokenCount);
    expect(Math.abs(whole!.logprob - (first!.logprob + second!.logprob))).toBeLessThan(1e-3);
  });

  it("moves trailing whitespace of the context into the continuation", async () => {
    const [spaced, plain] = await lm.logprobs([
      { context: "The cat ", continuation: "sat" },
      { context: "The cat", continuation: " sat" },
    ]);
    expect(spaced).toEqual(plain);
  });

  it.each(["The cat", "hello", PROMPT])(
    "marks the greedy continuation of %j as greedy and another one not",
    async (prompt) => {
      const greedy = await lm.generate({ prompt, maxTokens: 24 });
      const [mine, other] = await lm.logprobs([
        { context: prompt, continuation: greedy.text },
        { context: prompt, continuation: " 4, of course" },
      ]);
      expect(mine!.tokenCount).toBe(24);
      expect(mine!.isGreedy).toBe(true);
      expect(other!.isGreedy).toBe(false);
      expect(mine!.logprob).toBeGreaterThan(other!.logprob);
    },
  );

  it("equals a log-softmax over the full vocabulary computed here", async () => {
    const context = "The cat";
    const continuation = " sat on the mat";
    const [result] = await lm.logprobs([{ context, continuation }]);
    expect(await referenceLogprob(context, continuation)).toBeCloseTo(result!.logprob, 4);
  });

  it("refuses texts longer than the context", async () => {
    await expect(lm.logprobs([{ context: "x!".repeat(200), continuation: "y!".repeat(100) }])).rejects.toBeInstanceOf(
      ProviderError,
    );
  });
});

describe("BOS handling", () => {
  it("starts an empty prompt from BOS, in generation and in scoring alike", async () => {
    const greedy = await lm.generate({ prompt: "", maxTokens: 12 });
    expect(greedy.usage.inputTokens).toBe(1);
    const [scored] = await lm.logprobs([{ context: "", continuation: greedy.text }]);
    expect(scored).toMatchObject({ isGreedy: true, tokenCount: 12 });
  });

  it("prepends BOS everywhere when the model asks for it", async () => {
    const withBos = await createLlamaCppModel({ ggufPath: await tinyGgufPath({ addBos: true }), sequences: 1 });
    try {
      const greedy = await withBos.generate({ prompt: "The cat", maxTokens: 12 });
      expect(greedy.usage.inputTokens).toBe(5); // BOS, T, he, Ġc, at
      const [scored] = await withBos.logprobs([{ context: "The cat", continuation: greedy.text }]);
      expect(scored).toMatchObject({ isGreedy: true, tokenCount: 12 });
      // Same weights: only the leading BOS differs, so the greedy text should too.
      const [bosFirst, plain] = await Promise.all(
        [withBos, lm].map((model) => model.generate({ prompt: PROMPT, maxTokens: 12 })),
      );
      expect(bosFirst!.text).not.toBe(plain!.text);
    } finally {
      await withBos.close?.();
    }
  });
});

describe("concurrency", () => {
  it("gives the same results for 8 requests at once over 4 sequences as one at a time", async () => {
    const prompts = ["The cat", "hello", PROMPT, "Zebra", "1, 2, 3,", "<|im_start|>user", "the the the", "Once upon"];
    const pairs = prompts.map((context, i) => ({ context, continuation: ` ${prompts[(i + 3) % prompts.length]}` }));
    const sequential: unknown[] = [];
    for (const prompt of prompts) sequential.push((await lm.generate({ prompt, maxTokens: 8 })).text);
    for (const pair of pairs) sequential.push((await lm.logprobs([pair]))[0]);

    const concurrent = await Promise.all([
      ...prompts.map(async (prompt) => (await lm.generate({ prompt, maxTokens: 8 })).text),
      ...pairs.map(async (pair) => (await lm.logprobs([pair]))[0]),
    ]);
    expect(new Set(concurrent.slice(0, 8)).size).toBeGreaterThan(1);
    concurrent.forEach((value, i) => {
      if (typeof value === "string") expect(value).toBe(sequential[i]);
      else {
        const expected = sequential[i] as { logprob: number; isGreedy: boolean; tokenCount: number };
        expect(value!.tokenCount).toBe(expected.tokenCount);
        expect(value!.isGreedy).toBe(expected.isGreedy);
        expect(value!.logprob).toBeCloseTo(expected.logprob, 3);
      }
    });
  });

  it("drops a queued request whose signal aborts, and keeps serving the rest", async () => {
    const busy = Array.from({ length: 4 }, (_, i) => lm.generate({ prompt: `busy ${i}`, maxTokens: 30 }));
    const controller = new AbortController();
    const queued = lm.generate({ prompt: "queued", maxTokens: 30, signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toThrow(/abort/i);
    const results = await Promise.all([...busy, lm.generate({ prompt: "after", maxTokens: 5 })]);
    expect(results.map((r) => r.usage.outputTokens)).toEqual([30, 30, 30, 30, 5]);
  });
});

/**
 * Σ log-softmax(logits)[target] from the full logit vectors node-llama-cpp returns, split the
 * lm-evaluation-harness way; independent of the provider's top-logit/totalLogitWeight shortcut.
 */
async function referenceLogprob(context: string, continuation: string): Promise<number> {
  const llama: Llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  try {
    const model = await llama.loadModel({ modelPath: ggufPath });
    const contextTokens = model.tokenize(context, true);
    const all: Token[] = [
      ...contextTokens,
      ...model.tokenize(context + continuation, true).slice(contextTokens.length),
    ];
    const sequence = (await model.createContext({ contextSize: 256, threads: 1 })).getSequence();
    const outputs = await sequence.controlledEvaluate(
      all.map((token, i) => (i >= contextTokens.length - 1 ? [token, { generateNext: { logits: true } }] : token)),
    );
    let total = 0;
    for (let i = contextTokens.length - 1; i < all.length - 1; i++) {
      const logits = [...outputs[i]!.next.logits!.entries()];
      const max = Math.max(...logits.map(([, value]) => value));
      const logSumExp = max + Math.log(logits.reduce((sum, [, value]) => sum + Math.exp(value - max), 0));
      total += outputs[i]!.next.logits!.get(all[i + 1]!)! - logSumExp;
    }
    return total;
  } finally {
    await llama.dispose();
  }
}
