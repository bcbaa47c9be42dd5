import { describe, expect, it } from "vitest";
import { loadNativeKernels, nativeLoadError } from "../../../src/engine/native/index.js";

// The native tests skip when the addon is not built; CI sets SEAPO_REQUIRE_NATIVE=1 so that a
// failed build there fails the run instead of passing on the TypeScript backend alone.
describe.runIf(process.env.SEAPO_REQUIRE_NATIVE === "1")("native addon in CI", () => {
  it("is built and loads", () => {
    expect(loadNativeKernels(), String(nativeLoadError())).toBeDefined();
  });
});
