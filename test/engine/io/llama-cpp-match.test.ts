import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { exportGguf } from "../../../src/engine/io/hf-to-gguf.js";
import { loadHfModel, saveHfModel, type HfModel } from "../../../src/engine/io/hf-model.js";
import { initHfModel, presetModel, randomWeights } from "../../../src/engine/io/init.js";
import { tokenLogprobs } from "../../../src/engine/nn/functional.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { noGrad } from "../../../src/engine/tensor.js";

/**
 * Per-token agreement of the engine with llama.cpp on the same weights: tiny random Llama and Qwen2
 * Hugging Face folders, exported to GGUF in f32 and teacher-forced over one text in both. Each token's
 * log-prob must match, not only their sum, so an error at some positions (RoPE layout, mask, norm)
 * cannot hide behind the others.
 *
 * Two weight scales: `initHfModel`'s std 0.02, where every distribution is nearly uniform, and std 0.4,
 * where attention is sharp and a wrong Q/K layout moves log-probs by nats.
 *
 * llama.cpp keeps its KV cache in f16 by default; at std 0.4 that alone puts log-probs up to ~0.03 off
 * (measured), so the context here keeps K and V in f32 (flash attention off, which needs f16 K/V).
 * Measured with f32 K/V: at most ~1e-5 from llama.cpp, ~2e-5 between the two backends.
 */

const ARCHITECTURES = ["llama", "qwen2"] as const;
const SCALES = { init: 0.02, wide: 0.4 } as const;
type Scale = keyof typeof SCALES;
const TEXT = "The cat sat on the mat, and 12 times 4 is 48; then it slept.";

const dir = mkdtempSync(join(tmpdir(), "seapo-llama-cpp-match-"));
const models = new Map<string, { model: HfModel; gguf: string }>();
let llama: Llama;
const native = loadNativeBackend();

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  for (const architecture of ARCHITECTURES) {
    for (const scale of Object.keys(SCALES) as Scale[]) {
      const folder = join(dir, `${architecture}-${scale}`);
      if (scale === "init") await initHfModel(folder, { architecture, preset: "tiny", seed: 21 });
      else {
        const { config, tokenizer } = presetModel({ architecture, preset: "tiny" });
        await saveHfModel(folder, { config, weights: randomWeights(config, 21, SCALES[scale]), tokenizer });
      }
      const model = await loadHfModel(folder);
      const gguf = `${folder}.gguf`;
      await exportGguf(model, gguf, { type: "f32" });
      models.set(`${architecture}-${scale}`, { model, gguf });
    }
  }
});
afterAll(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** log p(ids[t+1] | ids[0..t]) for every t, from the engine on the given backend. */
function engineLogprobs(model: HfModel, ids: number[], which: Backend): number[] {
  return withBackend(which, () => {
    const net = LlamaModel.fromWeights(model.config, model.weights);
    return [...noGrad(() => tokenLogprobs(net.forward([ids.slice(0, -1)]), [ids.slice(1)])).data];
  });
}

/**
 * The same from llama.cpp, in one controlledEvaluate: per position the target's logit, the top logit
 * and Σ exp(logit − top) give log p = target − top − ln Σ (as src/llm/llama-cpp.ts scores).
 */
async function llamaCppLogprobs(path: string, ids: number[]): Promise<number[]> {
  const tokens = ids as Token[];
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({
      contextSize: 64,
      sequences: 1,
      threads: 1,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    try {
      const input = tokens
        .slice(0, -1)
        .map((token, t): ControlledEvaluateInputItem => [
          token,
          { generateNext: { logits: { filter: { tokens: [tokens[t + 1]!], includeTop: 1 } }, totalLogitWeight: true } },
        ]);
      const outputs = await context.getSequence().controlledEvaluate(input);
      return input.map((_, t) => {
        const next = outputs[t]?.next;
        const target = next?.logits?.get(tokens[t + 1]!);
        if (next?.logits === undefined || target === undefined || next.totalLogitWeight === undefined)
          throw new Error(`llama.cpp returned no logits at position ${t}`);
        return target - Math.max(...next.logits.values()) - Math.log(next.totalLogitWeight);
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** Largest |a[t] − b[t]| and where it is, for a readable failure. */
function worst(a: number[], b: number[]): { diff: number; at: number } {
  expect(a).toHaveLength(b.length);
  return a.reduce((w, v, t) => (Math.abs(v - b[t]!) > w.diff ? { diff: Math.abs(v - b[t]!), at: t } : w), {
    diff: 0,
    at: -1,
  });
}

describe.each(ARCHITECTURES)("%s exported to an f32 GGUF", (architecture) => {
  it.each(Object.keys(SCALES) as Scale[])(
    "weights std %s: llama.cpp and both engine backends agree on every token's log-prob",
    async (scale) => {
      const { model, gguf } = models.get(`${architecture}-${scale}`)!;
      const ids = model.tokenizer.encode(TEXT);
      expect(ids.length).toBeGreaterThanOrEqual(20);
      const cpp = await llamaCppLogprobs(gguf, ids);
      const ts = engineLogprobs(model, ids, tsBackend);
      expect(worst(ts, cpp).diff, `ts vs llama.cpp, worst at position ${worst(ts, cpp).at}`).toBeLessThan(1e-3);
      if (scale === "wide")
        expect(Math.max(...ts) - Math.min(...ts), "log-probs should vary by position").toBeGreaterThan(1);
      if (native) {
        const nat = engineLogprobs(model, ids, native);
        expect(worst(nat, cpp).diff, `native vs llama.cpp, worst at position ${worst(nat, cpp).at}`).toBeLessThan(1e-3);
        expect(worst(nat, ts).diff, `native vs ts, worst at position ${worst(nat, ts).at}`).toBeLessThan(1e-4);
      }
    },
  );
});
