import { afterEach, describe, expect, it } from "vitest";
import { backend, setBackend, withBackend } from "../../../src/engine/backend.js";
import { loadNativeBackend, nativeBackendError } from "../../../src/engine/backends/native.js";
import { tsBackend } from "../../../src/engine/backends/ts.js";
import { matmul } from "../../../src/engine/ops.js";
import { tensor } from "../../../src/engine/tensor.js";
import { generate } from "../../../src/engine/models/generate.js";
import { tinyModel } from "./tiny-model.js";

const native = loadNativeBackend();

describe("backend selection", () => {
  const initial = backend();
  afterEach(() => void setBackend(initial.name === "native" ? "native" : "ts"));

  it("selects ts by name", () => {
    expect(setBackend("ts")).toBe(tsBackend);
    expect(backend().name).toBe("ts");
  });

  it("selects native by name when built, and otherwise says why not", () => {
    if (native) expect(setBackend("native").name).toBe("native");
    else expect(() => setBackend("native")).toThrow(`native kernels are unavailable: ${nativeBackendError()}`);
  });

  it("withBackend restores the previous backend, even after a throw", () => {
    const before = backend();
    expect(() => withBackend(tsBackend, () => matmul(tensor([1], [1, 1]), tensor([1, 2], [2, 1])))).toThrow(/matmul/);
    expect(backend()).toBe(before);
  });
});

describe.runIf(native)("native against ts", () => {
  it("generates the same greedy tokens", () => {
    const model = tinyModel("qwen2", 4);
    const prompts = [
      [1, 2, 3],
      [4, 5, 6, 7, 8],
    ];
    const viaTs = withBackend(tsBackend, () => generate(model, prompts, { maxNewTokens: 8, temperature: 0 }));
    const viaNative = withBackend(native!, () => generate(model, prompts, { maxNewTokens: 8, temperature: 0 }));
    expect(viaNative).toEqual(viaTs);
  });
});
