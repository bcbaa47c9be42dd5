// Op behaviour beyond the checkOp table (ops.test.ts): attention masking, gradient accumulation,
// buffer sharing, and the errors ops raise.
import { describe, expect, it, vi } from "vitest";
import { nativeToCompare } from "../../helpers/check-op.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import * as ops from "../../../src/engine/ops.js";
import { gradients } from "../../../src/engine/autograd.js";
import { attention, attentionBias, dropout } from "../../../src/engine/nn/functional.js";
import { Rng } from "../../../src/engine/random.js";
import { Tensor, tensor } from "../../../src/engine/tensor.js";
import { padMask, ropeAngles } from "./reference.js";

const angles = ropeAngles();

describe("op semantics", () => {
  it("attention ignores padded keys and future keys", () => {
    // Changing a padded key (row 0, positions 0-1) or a future key must not change earlier outputs.
    const rng = new Rng(5);
    const make = (shape: number[]) =>
      new Tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal()),
        shape,
      );
    const q = make([2, 4, 5, 4]);
    const k = make([2, 2, 5, 4]);
    const v = make([2, 2, 5, 4]);
    const bias = attentionBias(padMask, 2, 5, 5);
    const before = attention(q, k, v, bias);
    const k2 = new Tensor(k.data.slice(), k.shape);
    const v2 = new Tensor(v.data.slice(), v.shape);
    for (let h = 0; h < 2; h++) {
      for (let d = 0; d < 4; d++) {
        k2.data[(h * 5 + 0) * 4 + d] = 100; // row 0, key 0 (padding)
        v2.data[(h * 5 + 1) * 4 + d] = -100; // row 0, key 1 (padding)
        v2.data[((2 + h) * 5 + 4) * 4 + d] = 50; // row 1, key 4 (future for queries 0-3)
      }
    }
    const after = attention(q, k2, v2, bias);
    for (let h = 0; h < 4; h++) {
      for (let t = 2; t < 5; t++) {
        for (let d = 0; d < 4; d++) {
          const i = ((0 * 4 + h) * 5 + t) * 4 + d;
          expect(after.data[i]).toBeCloseTo(before.data[i]!, 5);
        }
      }
      for (let t = 0; t < 4; t++) {
        for (let d = 0; d < 4; d++) {
          const i = ((1 * 4 + h) * 5 + t) * 4 + d;
          expect(after.data[i]).toBeCloseTo(before.data[i]!, 5);
        }
      }
    }
  });

  it("a fully masked attention row stays finite", () => {
    const q = tensor([1, 2, 3, 4], [1, 1, 1, 4]);
    const out = attention(q, q, q, attentionBias([[0]], 1, 1, 1));
    expect(out.toArray().every(Number.isFinite)).toBe(true);
  });

  it("a gradient flowing into one tensor from two uses adds up", () => {
    const x = tensor([1, 2, 3], [3], true);
    ops.sum(ops.add(ops.mul(x, x), x)).backward();
    expect(x.grad?.toArray()).toEqual([3, 5, 7]);
  });

  it("leaf gradients accumulate across backward calls", () => {
    const x = tensor([1, -2], [2], true);
    ops.sum(ops.mul(x, 3)).backward();
    ops.sum(ops.mul(x, 3)).backward();
    expect(x.grad?.toArray()).toEqual([6, 6]);
  });

  it("dropout with p = 0 is the identity and with p > 0 keeps the mean", () => {
    const x = tensor(new Array(20000).fill(1), [20000]);
    expect(dropout(x, 0, new Rng(1))).toBe(x);
    const y = dropout(x, 0.25, new Rng(1));
    const zeros = y.toArray().filter((v) => v === 0).length / y.size;
    expect(zeros).toBeGreaterThan(0.23);
    expect(zeros).toBeLessThan(0.27);
    expect(ops.mean(y).item()).toBeCloseTo(1, 1);
    expect(dropout(x, 0.25, new Rng(1)).toArray()).toEqual(y.toArray());
  });

  it("reshape shares the buffer; permute copies", () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(ops.reshape(x, [3, 2]).data).toBe(x.data);
    expect(ops.permute(x, [1, 0]).toArray()).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it("noGrad records nothing", async () => {
    const { noGrad } = await import("../../../src/engine/tensor.js");
    const x = tensor([1, 2], [2], true);
    const y = noGrad(() => ops.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
  });
});

describe("errors name the op and the shapes", () => {
  it.each([
    [
      "matmul",
      () => ops.matmul(tensor([1, 2, 3, 4, 5, 6], [2, 3]), tensor([1, 2, 3, 4], [2, 2])),
      /matmul: inner dimensions 3 and 2 differ.*\[2, 3\], \[2, 2\]/,
    ],
    ["add", () => ops.add(tensor([1, 2, 3], [3]), tensor([1, 2], [2])), /add: shapes do not broadcast.*\[3\], \[2\]/],
    ["reshape", () => ops.reshape(tensor([1, 2, 3], [3]), [2, 2]), /reshape: .*\[3\], \[2, 2\]/],
    [
      "rmsnorm",
      () => ops.rmsnorm(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 2, 3], [3]), 1e-5),
      /rmsnorm: .*\[2, 2\], \[3\]/,
    ],
    ["gather", () => ops.gather(tensor([1, 2, 3, 4], [2, 2]), [0, 2]), /gather: id 2 at position 1/],
    ["sum", () => ops.sum(tensor([1, 2], [2]), 3), /sum: axis 3 is out of range/],
    ["cat", () => ops.cat([tensor([1, 2], [1, 2]), tensor([1, 2, 3], [1, 3])], 0), /cat: shapes differ outside axis 0/],
    [
      "rope",
      () => ops.rope(tensor([1, 2, 3, 4], [1, 1, 1, 4]), angles.cos, angles.sin),
      /rope: cos and sin must be \[B, T, D\/2\]/,
    ],
  ])("%s", (_name, fn, message) => {
    expect(fn).toThrow(message);
  });

  it("a missing gradient rule raises an error naming the op", () => {
    const saved = gradients.exp;
    delete gradients.exp;
    try {
      const x = tensor([1, 2], [2], true);
      expect(() => ops.sum(ops.exp(x)).backward()).toThrow(/no gradient rule for op "exp"/);
    } finally {
      gradients.exp = saved;
    }
  });

  it("backward needs a scalar or an explicit gradient", () => {
    const x = tensor([1, 2], [2], true);
    expect(() => ops.mul(x, 2).backward()).toThrow(/pass a gradient or reduce to a scalar/);
  });
});

describe("checkOp's native comparison", () => {
  const missing = () => undefined;
  const why = () => "no addon here";

  it("fails when SEAPO_REQUIRE_NATIVE=1 and the native backend is missing", () => {
    expect(() => nativeToCompare(missing, { SEAPO_REQUIRE_NATIVE: "1" }, why)).toThrow(
      "checkOp: SEAPO_REQUIRE_NATIVE=1, but the native backend is unavailable: no addon here",
    );
  });

  it("otherwise skips it and says why", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      expect(nativeToCompare(missing, {}, why)).toBeUndefined();
      expect(warn.mock.calls.flat().join("\n")).toMatch(/native backend unavailable \(no addon here\)/);
    } finally {
      warn.mockRestore();
    }
  });

  it("compares against the native backend when it is there", () => {
    const fake = { ...tsBackend, name: "native" };
    expect(nativeToCompare(() => fake, { SEAPO_REQUIRE_NATIVE: "1" }, why)).toBe(fake);
  });
});
