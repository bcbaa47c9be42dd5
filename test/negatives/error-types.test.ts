import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadErrorTypes } from "../../src/negatives/error-types.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-types-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("loadErrorTypes", () => {
  it("has the three built-in types by default", async () => {
    expect((await loadErrorTypes()).map((t) => t.name)).toEqual(["correctness", "logic", "hallucination"]);
  });

  it("adds user types from YAML and lets a user type replace a built-in one", async () => {
    const path = file(
      "types.yaml",
      'types:\n  - name: unit-error\n    description: a quantity given in the wrong unit\n    examples: ["5 km written as 5 m"]\n  - name: logic\n    description: my own logic definition\n',
    );
    const types = await loadErrorTypes(path);
    expect(types.map((t) => t.name)).toEqual(["correctness", "logic", "hallucination", "unit-error"]);
    expect(types.find((t) => t.name === "logic")!.description).toBe("my own logic definition");
    expect(types.find((t) => t.name === "unit-error")!.examples).toEqual(["5 km written as 5 m"]);
  });

  it("reads a JSON list too", async () => {
    const path = file("types.json", JSON.stringify([{ name: "omission", description: "a needed step is left out" }]));
    expect((await loadErrorTypes(path)).at(-1)).toEqual({ name: "omission", description: "a needed step is left out" });
  });

  it("names the file, line and field of a bad entry", async () => {
    const path = file("bad.yaml", '- name: fine\n  description: ok\n- name: broken\n  description: ""\n');
    await expect(loadErrorTypes(path)).rejects.toThrow(`${path}:4:[1].description: must not be empty`);
  });

  it("names the line of invalid YAML", async () => {
    const path = file("invalid.yaml", "- name: a\n  description: [unclosed\n");
    await expect(loadErrorTypes(path)).rejects.toThrow(new RegExp(`${path}:\\d+: not valid YAML/JSON`));
  });
});
