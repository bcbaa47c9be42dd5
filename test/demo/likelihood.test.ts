import { describe, expect, it } from "vitest";
import type { NegativeRecord } from "../../src/data/index.js";
import { SHIPPED_BASE_DIR } from "../../src/demo/options.js";
import { promptIds } from "../../src/demo/evaluate.js";
import { meanTokenLogprob, negativePlausibility } from "../../src/demo/likelihood.js";
import { LlamaModel, loadHfModel, noGrad } from "../../src/engine/index.js";

const base = await loadHfModel(SHIPPED_BASE_DIR);
const model = LlamaModel.fromWeights(base.config, base.weights);
const tokenizer = base.tokenizer;

/** Σ log p(answer tokens, end token | chat prompt) from one full forward pass, over its token count. */
function perTokenByForward(prompt: string, text: string): number {
  const context = promptIds(tokenizer, prompt);
  const answer = [...tokenizer.encode(text, { addSpecialTokens: false }), tokenizer.eosTokenId!];
  const ids = [...context, ...answer];
  const logits = noGrad(() => model.forward([ids.slice(0, -1)]));
  const V = logits.shape.at(-1)!;
  const data = logits.data;
  let sum = 0;
  for (let t = context.length - 1; t < ids.length - 1; t++) {
    const row = data.subarray(t * V, (t + 1) * V);
    const max = row.reduce((m, x) => Math.max(m, x), -Infinity);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    sum += row[ids[t + 1]!]! - lse;
  }
  return sum / answer.length;
}

const record = (prompt: string, chosen: string, rejected: string, errorType: string): NegativeRecord => ({
  sourceId: "x",
  errorType,
  injector: "test",
  templateVersion: "t",
  seed: 1,
  prompt,
  history: [],
  chosen,
  rejected,
});

describe("the demo's log-prob diagnostics", () => {
  const a = { prompt: "What is 2 plus 3?", text: "2 + 3 = 5.\nAnswer: 5" };
  const b = { prompt: "Who is the tallest?", text: "Answer: Nobody" };

  it("average each answer's per-token log-prob, as a full forward pass computes it", () => {
    const expected = (perTokenByForward(a.prompt, a.text) + perTokenByForward(b.prompt, b.text)) / 2;
    expect(meanTokenLogprob(model, tokenizer, [a, b])).toBeCloseTo(expected, 4);
    expect(meanTokenLogprob(model, tokenizer, [])).toBeNull();
  });

  it("split SeaPO's negatives by type, and the types' means weight back to the whole", () => {
    const records = [
      record(a.prompt, a.text, "2 + 3 = 6.\nAnswer: 6", "correctness"),
      record(b.prompt, b.text, "Answer: Zork", "hallucination"),
      record(a.prompt, a.text, "2 + 3 = 5.\nAnswer: 6", "logic"),
    ];
    const p = negativePlausibility(model, tokenizer, 4, records, []);
    expect(p.seed).toBe(4);
    expect(Object.keys(p.seapoByType)).toEqual(["correctness", "hallucination", "logic"]);
    const weighted = Object.values(p.seapoByType).reduce((s, x) => s + x.mean! * x.n, 0) / 3;
    expect(p.seapo.n).toBe(3);
    expect(p.seapo.mean!).toBeCloseTo(weighted, 6);
    expect(p.seapoByType.hallucination!.mean!).toBeCloseTo(perTokenByForward(b.prompt, "Answer: Zork"), 4);
    expect(p.gold.mean!).toBeCloseTo(meanTokenLogprob(model, tokenizer, [a, b, a])!, 6);
    expect(p.sampledWrong).toEqual({ mean: null, n: 0 });
  });
});
