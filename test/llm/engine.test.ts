import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initHfModel } from "../../src/engine/io/index.js";
import { createEngineModel } from "../../src/llm/engine.js";
import type { LanguageModel } from "../../src/llm/index.js";

let model: LanguageModel;
beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "seapo-engine-model-")), "tiny");
  await initHfModel(dir, { architecture: "llama", preset: "tiny", seed: 3 });
  model = await createEngineModel({ dir });
});

describe("createEngineModel", () => {
  it("generates greedily and repeatably, and reports the token limit", async () => {
    const first = await model.generate({ prompt: "The capital of", maxTokens: 6 });
    const again = await model.generate({ prompt: "The capital of", maxTokens: 6 });
    expect(again.text).toBe(first.text);
    // Golden values of this seeded model (computed once): it does not emit its end token in six
    // steps, so the limit ends the reply; the byte-level tokenizer gives the prompt 12 tokens (BOS included).
    expect(first.finishReason).toEqual({ unified: "length", raw: "length" });
    expect(first.usage).toEqual({ inputTokens: 12, outputTokens: 6 });
  });

  it("cuts the text at a stop string", async () => {
    const full = await model.generate({ prompt: "Q: hello\nA:", maxTokens: 12 });
    const stop = full.text.slice(2, 4);
    const cut = await model.generate({ prompt: "Q: hello\nA:", maxTokens: 12, stop: [stop] });
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.finishReason.unified).toBe("stop");
  });

  it("scores a greedy continuation as greedy, and splits add up", async () => {
    const context = "Once upon a time";
    const { text } = await model.generate({ prompt: context, maxTokens: 4 });
    const [greedy, other] = await model.logprobs([
      { context, continuation: text },
      { context, continuation: " zebra quantum" },
    ]);
    expect(greedy!.isGreedy).toBe(true);
    expect(other!.isGreedy).toBe(false);
    expect(greedy!.logprob).toBeGreaterThan(other!.logprob);
    expect(other!.logprob).toBeLessThan(0);
    const [whole, left, right] = await model.logprobs([
      { context: "Numbers:", continuation: " 1 2" },
      { context: "Numbers:", continuation: " 1" },
      { context: "Numbers: 1", continuation: " 2" },
    ]);
    expect(whole!.tokenCount).toBe(left!.tokenCount + right!.tokenCount);
    expect(whole!.logprob).toBeCloseTo(left!.logprob + right!.logprob, 4);
  });

  it("keeps the end of a context longer than the model holds, as the harness does", async () => {
    const long = "word ".repeat(2000);
    const [score] = await model.logprobs([{ context: long, continuation: " end" }]);
    expect(Number.isFinite(score!.logprob)).toBe(true);
    const result = await model.generate({ prompt: long, maxTokens: 4 });
    expect(result.warnings.join(" ")).toMatch(/prompt was cut/);
  });
});
