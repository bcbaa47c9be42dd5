import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withBackend } from "../../../src/engine/backend.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { loadNativeBackend } from "../../../src/engine/backends/native.js";
import { crossEntropy } from "../../../src/engine/nn/functional.js";
import * as ops from "../../../src/engine/ops.js";
import { AdamW, clipGradNorm } from "../../../src/engine/optim.js";
import {
  allocate,
  classBytes,
  configurePool,
  poolSettings,
  poolStats,
  recycling,
  release,
} from "../../../src/engine/pool.js";
import { Rng } from "../../../src/engine/random.js";
import { randn } from "../../../src/engine/tensor.js";
import { tinyModel } from "./tiny-model.js";

const initial = poolSettings();
// Every buffer of the tiny model is pooled, and a released one reads NaN until it is overwritten.
const strict = { enabled: true, poison: true, minBytes: 0 };

beforeEach(() => configurePool(strict));
afterEach(() => configurePool(initial));

type Memory = "off" | "backward" | "scope" | "tape";

/** Losses and final weights of a few AdamW steps on a tiny model (full or LoRA), with the pool used as `memory` says. */
function train(memory: Memory, lora: boolean): { losses: number[]; weights: Float32Array[] } {
  configurePool(memory === "off" ? { enabled: false } : strict);
  const model = tinyModel("llama", 5, !lora);
  const params = lora ? model.applyLora({ rank: 2, alpha: 4, seed: 3 }) : model.trainableParameters();
  const opt = new AdamW(params, { lr: 0.01 });
  const rng = new Rng(9);
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const ids = Array.from({ length: 2 }, () => Array.from({ length: 7 }, () => rng.int(17)));
    const run = (): number => {
      const loss = crossEntropy(
        model.forward(ids.map((r) => r.slice(0, -1))),
        ids.map((r) => r.slice(1)),
      );
      const value = loss.item();
      ops.mul(loss, 0.5).backward();
      return value;
    };
    const scoped = memory === "scope" || memory === "tape";
    const released = poolStats().released;
    losses.push(scoped ? recycling(run, { releaseTape: memory === "tape" }) : run());
    if (memory !== "off") expect(poolStats().released, memory).toBeGreaterThan(released);
    clipGradNorm(params.values(), 1);
    opt.step();
    opt.zeroGrad();
  }
  return { losses, weights: [...model.namedParameters().values()].map((t) => t.data.slice()) };
}

describe("buffer pool", () => {
  const backends = [tsBackend, loadNativeBackend()].filter((b) => b !== undefined);
  for (const backend of backends) {
    for (const lora of [false, true]) {
      it(`gives bit-identical training on ${backend.name} ${lora ? "(LoRA)" : "(full)"} with the pool off, in backward, in a scope, and with the tape released`, () => {
        withBackend(backend, () => {
          const reference = train("off", lora);
          expect(reference.losses.every(Number.isFinite)).toBe(true);
          for (const memory of ["backward", "scope", "tape"] as const) {
            const run = train(memory, lora);
            expect(run.losses, memory).toEqual(reference.losses);
            run.weights.forEach((w, i) => expect(w, `${memory} weight ${i}`).toEqual(reference.weights[i]));
          }
        });
      });
    }
  }

  it("reuses the previous step's buffers: the second scoped step allocates almost nothing new", () => {
    const model = tinyModel("llama", 5, true);
    const step = (): void => {
      recycling(() => crossEntropy(model.forward([[1, 2, 3, 4, 5, 6]]), [[2, 3, 4, 5, 6, 7]]).backward(), {
        releaseTape: true,
      });
      for (const p of model.namedParameters().values()) p.grad = null;
    };
    step();
    const before = poolStats();
    step();
    const after = poolStats();
    const allocations = after.allocations - before.allocations;
    // Only the new parameter gradients (kept by their leaves) are not served from the free lists.
    const fresh = allocations - (after.reused - before.reused);
    expect(allocations).toBeGreaterThan(100);
    expect(fresh).toBeLessThanOrEqual(model.trainableParameters().size);
  });

  it("poisons what a scope released, so a tensor used after its scope reads NaN", () => {
    const x = randn([4, 8], new Rng(1));
    const leaked = recycling(() => ops.exp(x));
    expect(leaked.toArray().every(Number.isNaN)).toBe(true);
    const kept = recycling(() => ops.exp(x).data.slice());
    expect(Array.from(kept)).toEqual(Array.from(x.data, (v) => Math.fround(Math.exp(v))));
  });

  it("keeps tape tensors until the scope ends, unless the scope releases the tape in backward", () => {
    const w = randn([8, 8], new Rng(2), 1, true);
    const x = randn([4, 8], new Rng(3));
    for (const releaseTape of [false, true]) {
      recycling(
        () => {
          const h = ops.exp(ops.matmul(x, w));
          const copy = h.data.slice();
          ops.sum(ops.mul(h, h)).backward();
          if (releaseTape) expect(h.toArray().every(Number.isNaN)).toBe(true);
          else expect(h.data).toEqual(copy);
        },
        { releaseTape },
      );
      // The parameter's gradient outlives the scope.
      expect(w.grad!.toArray().every(Number.isFinite)).toBe(true);
      w.grad = null;
    }
  });

  it("never frees a buffer that a view made before backward still shares (reshape, detach)", () => {
    const w = randn([6, 4], new Rng(4), 1, true);
    const run = (memory: boolean): Float32Array => {
      configurePool(memory ? strict : { enabled: false });
      w.grad = null;
      const body = (): void => {
        const h = ops.sigmoid(w);
        const constant = h.detach().reshape([24]);
        ops.sum(ops.mul(ops.exp(h.reshape([24])), constant)).backward();
      };
      if (memory) recycling(body, { releaseTape: true });
      else body();
      return w.grad!.data.slice();
    };
    expect(run(true)).toEqual(run(false));
  });

  it("refuses a second release of the same buffer, so it is never handed out twice", () => {
    const a = allocate(300);
    release(a);
    release(a);
    const first = allocate(300);
    const second = allocate(300);
    expect(first.buffer).toBe(a.buffer);
    expect(second.buffer).not.toBe(a.buffer);
  });

  it("rounds sizes up to eight classes per octave", () => {
    expect(classBytes(1024)).toBe(4096);
    expect(classBytes(1025)).toBe(4608);
    expect(classBytes(1100)).toBe(4608);
    expect(classBytes(1153)).toBe(5120);
    expect(allocate(1100).length).toBe(1100);
  });

  it("leaves buffers alone when disabled", () => {
    configurePool({ enabled: false });
    const before = poolStats();
    recycling(() => ops.exp(randn([64, 64], new Rng(1))));
    expect(poolStats().released).toBe(before.released);
    expect(poolStats().pooledBytes).toBe(0);
  });
});
