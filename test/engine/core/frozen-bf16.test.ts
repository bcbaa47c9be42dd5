/**
 * Frozen base weights of a bf16 model folder held as bf16 bits only (SEAPO_FROZEN_BF16=1, Linear.keepBf16,
 * frozen-matmul.ts): the same folder run with SEAPO_FROZEN_BF16=0 (f32 base, the default) gives the same
 * bits everywhere, on both backends, while the frozen weights take half the bytes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withBackend, type Backend } from "../../../src/engine/backend.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { loadHfModel, type HfModel } from "../../../src/engine/io/hf-model.js";
import { initHfModel } from "../../../src/engine/io/init.js";
import { generate } from "../../../src/engine/models/generate.js";
import { LlamaModel } from "../../../src/engine/models/llama.js";
import { crossEntropy } from "../../../src/engine/nn/functional.js";
import { Linear } from "../../../src/engine/nn/layers.js";
import { LoRALinear } from "../../../src/engine/nn/lora.js";
import { AdamW } from "../../../src/engine/optim.js";
import { Rng } from "../../../src/engine/random.js";

let dir: string;
let folder: HfModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seapo-frozen-bf16-"));
  await initHfModel(dir, { architecture: "qwen2", preset: "tiny", dtype: "BF16", seed: 4 });
  folder = await loadHfModel(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const ids = [0, 1].map((b) => Array.from({ length: 12 }, (_, t) => (31 * b + 7 * t * t + 5) % 500));
const targets = ids.map((row) => [...row.slice(1), 2]);

function linears(model: LlamaModel): Linear[] {
  return model.layers.flatMap(({ self_attn: a, mlp: m }) =>
    [a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj, m.down_proj].map((l) =>
      l instanceof LoRALinear ? l.base : (l as Linear),
    ),
  );
}

/** Bytes the base weights of the linear layers hold. */
const baseBytes = (model: LlamaModel): number =>
  linears(model).reduce((sum, l) => sum + (l.bf16Weight?.bits.byteLength ?? l.weight.data.byteLength), 0);

/** LoRA on the folder's weights (bf16-held unless keep is "0"): two AdamW steps, generation, merge. */
function run(keep: "0" | "1", which: Backend) {
  process.env.SEAPO_FROZEN_BF16 = keep;
  try {
    return withBackend(which, () => {
      const weights = new Map([...folder.weights].map(([n, t]) => [n, { shape: t.shape, data: t.data.slice() }]));
      const model = LlamaModel.fromWeights(folder.config, weights);
      const adapter = model.applyLora({ rank: 4, alpha: 8, seed: 1 });
      const rng = new Rng(2);
      for (const p of adapter.values()) for (let i = 0; i < p.size; i++) p.data[i] = 0.05 * rng.normal();
      const optimizer = new AdamW(adapter, { lr: 1e-2 });
      const losses: number[] = [];
      for (let step = 0; step < 2; step++) {
        optimizer.zeroGrad();
        const loss = crossEntropy(model.forward(ids), targets);
        loss.backward();
        optimizer.step();
        losses.push(loss.item());
      }
      const logits = model.forward(ids).data.slice();
      const greedy = generate(model, [ids[0]!.slice(0, 5)], { maxNewTokens: 6, temperature: 0 }).map((g) => g.tokens);
      const bytes = baseBytes(model);
      const heldBf16 = linears(model).every((l) => l.bf16Weight !== null);
      model.mergeLora();
      const merged = [...model.weights()].map(([name, t]) => [name, t.data.slice()] as const);
      return { losses, logits, greedy, bytes, heldBf16, merged, model };
    });
  } finally {
    delete process.env.SEAPO_FROZEN_BF16;
  }
}

const backends: [string, () => Backend | undefined][] = [
  ["ts", () => tsBackend],
  ["native", loadNativeBackend],
];

describe.each(backends)("bf16-held frozen weights on the %s backend", (_name, pick) => {
  it.skipIf(pick() === undefined)("give the f32 base's bits: losses, logits, greedy ids and merged weights", () => {
    const f32 = run("0", pick()!);
    const bf16 = run("1", pick()!);
    expect(f32.heldBf16).toBe(false);
    expect(bf16.heldBf16).toBe(true);
    expect(bf16.losses).toEqual(f32.losses);
    expect(bf16.logits).toEqual(f32.logits);
    expect(bf16.greedy).toEqual(f32.greedy);
    expect(bf16.merged).toEqual(f32.merged);
    expect(bf16.bytes * 2).toBe(f32.bytes);
    console.log(`frozen base bytes: f32 ${f32.bytes}, bf16 ${bf16.bytes}`);
  });
});

describe("a bf16-held weight", () => {
  it("refuses to become trainable, and an f32-valued weight is never held in bf16", () => {
    const { model } = run("1", tsBackend);
    const weights = new Map([...folder.weights].map(([n, t]) => [n, { shape: t.shape, data: t.data.slice() }]));
    const lora = LlamaModel.fromWeights(folder.config, weights);
    process.env.SEAPO_FROZEN_BF16 = "1";
    try {
      lora.applyLora({ rank: 2, alpha: 2 });
    } finally {
      delete process.env.SEAPO_FROZEN_BF16;
    }
    expect(() => lora.setTrainable(true)).toThrow(/held as bf16 bits and cannot be trained/);
    expect(model.layers.length).toBeGreaterThan(0);
    const w = new Linear(linears(lora)[0]!.weight);
    w.weight.data[0] = 1 + 2 ** -20; // not a bf16 value
    expect(w.keepBf16()).toBe(false);
  });
});
