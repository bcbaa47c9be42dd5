import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  defaultDemoOptions,
  demoFlagsSchema,
  demoOptionsFromFlags,
  runDemo,
  SHIPPED_BASE_DIR,
  SHIPPED_BASE_DIRS,
} from "../../src/demo/index.js";

const log = () => {};

describe("seapo demo's run profiles", () => {
  it("--full is every arm over five seeds, the default the main arms over three, both on world 2's whole test split; --quick one seed on world 1", () => {
    const full = defaultDemoOptions("full");
    expect([full.arms, full.seeds, full.world, full.testPerDimension, full.baseDir]).toEqual([
      "full",
      [1, 2, 3, 4, 5],
      2,
      "all",
      `${SHIPPED_BASE_DIR}-v2`,
    ]);
    const standard = defaultDemoOptions(false);
    expect([standard.arms, standard.seeds, standard.world, standard.testPerDimension, standard.baseDir]).toEqual([
      "main",
      [1, 2, 3],
      2,
      "all",
      `${SHIPPED_BASE_DIR}-v2`,
    ]);
    expect(defaultDemoOptions(true)).toMatchObject({
      quick: true,
      profile: "quick",
      arms: "quick",
      world: 1,
      seeds: [1],
      testPerDimension: 24,
    });
    const paper = demoOptionsFromFlags(demoFlagsSchema.parse({ arms: "paper" }), new Set(["arms"]), log);
    expect([paper.arms, paper.seeds]).toEqual(["paper", [1, 2, 3]]);
  });

  it("takes typed flags over the profile, and the world's shipped base unless --base is typed", () => {
    const flags = demoFlagsSchema.parse({ full: true, seeds: ["7", "8"], lr: 1e-3, world: "1" });
    const options = demoOptionsFromFlags(flags, new Set(["full", "seeds", "lr", "world"]), log);
    expect(options).toMatchObject({
      profile: "full",
      seeds: [7, 8],
      lr: 1e-3,
      world: 1,
      baseDir: SHIPPED_BASE_DIRS[1],
    });
    const typedBase = demoOptionsFromFlags(demoFlagsSchema.parse({ base: "/x" }), new Set(["base"]), log);
    expect(typedBase.baseDir).toBe("/x");
    expect(demoFlagsSchema.safeParse({ seeds: ["-1"] }).success).toBe(false);
  });

  it("refuses a base model of another world, saying how to build the right one", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "seapo-demo-world-")), "demo");
    const options = { ...defaultDemoOptions(true), world: 2 as const, out, log };
    await expect(runDemo(options)).rejects.toThrow(
      `${SHIPPED_BASE_DIR} was built on world 1, and the run asks for world 2; give --world 1`,
    );
    await expect(runDemo({ ...options, baseDir: join(out, "none") })).rejects.toThrow(
      `no base model for world 2 in ${join(out, "none")}; build it with \`seapo demo build-base ${join(out, "none")} --world 2\``,
    );
  });
});
