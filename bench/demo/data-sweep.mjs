// Where do more preference pairs stop helping? On the validation split only: the headline arms (`--arms
// main`: base, vanilla and mixed SeaPO, KTO and DPO) are trained at several training-prompt counts per
// dimension, each arm with its frozen row of assets/demo/tuned-world<N>.json and its steps scaled with the
// data (the row's steps are for 48 prompts per dimension), so every size sees the same number of passes
// over its data. Every size is scored on the same validation items; the printed differences to base and
// to vanilla are paired-bootstrap 95% intervals over those items and the seeds.
//
//   npm run build && node bench/demo/data-sweep.mjs [--world 2] [--sizes 24,48,96,192] [--seeds 1,2]
//        [--per-dimension 100]
// Writes bench/demo/data-sweep-world<N>.json (each size's averages and intervals per arm).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as prettier from "prettier";

const here = dirname(fileURLToPath(import.meta.url));
const demo = await import(pathToFileURL(join(here, "../../dist/demo/index.js")).href);
const { shippedTuned } = await import(pathToFileURL(join(here, "../../dist/demo/tuned.js")).href);

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const list = (text) => text.split(",").map(Number);
const world = Number(flag("--world", "2"));
const sizes = list(flag("--sizes", "24,48,96,192"));
const seeds = list(flag("--seeds", "1,2"));
const perDimension = Number(flag("--per-dimension", "100"));
const REFERENCE_SIZE = 48;

const defaults = demo.defaultDemoOptions("default");
const tuned = shippedTuned(world);
if (tuned === undefined) throw new Error(`no assets/demo/tuned-world${world}.json: run the validation search first`);

/** Every arm's tuned row, its steps scaled from REFERENCE_SIZE prompts per dimension to `size`. */
const scaledRows = (size) =>
  Object.fromEntries(
    Object.entries(tuned).map(([arm, row]) => [
      arm,
      { ...row, steps: Math.max(1, Math.round((row.steps * size) / REFERENCE_SIZE)) },
    ]),
  );

const points = (x) => (100 * x).toFixed(1);
const interval = (d) => `${d.estimate >= 0 ? "+" : ""}${points(d.estimate)} [${points(d.low)}, ${points(d.high)}]`;

const record = { world, seeds, perDimension, referenceSize: REFERENCE_SIZE, sizes: [] };
for (const size of sizes) {
  const started = Date.now();
  const results = await demo.runDemo({
    ...defaults,
    world,
    arms: "main",
    seeds,
    trainPerDimension: size,
    tuned: scaledRows(size),
    evalSplit: "validation",
    testPerDimension: perDimension,
    out: join(mkdtempSync(join(tmpdir(), "seapo-demo-sweep-")), "demo"),
    log: () => {},
  });
  const differences = results.uncertainty.differences.map((d) => ({
    arm: d.arm,
    reference: d.reference,
    average: d.average,
  }));
  const averages = Object.fromEntries(results.arms.map((arm) => [arm.name, arm.average.mean]));
  const gold = Object.fromEntries(
    results.arms
      .filter((arm) => arm.heldOutGold?.length)
      .map((arm) => [
        arm.name,
        arm.heldOutGold.reduce((s, g) => s + (g.after ?? 0) - (g.before ?? 0), 0) / arm.heldOutGold.length,
      ]),
  );
  const seconds = (Date.now() - started) / 1000;
  record.sizes.push({
    trainPerDimension: size,
    steps: scaledRows(size),
    averages,
    differences,
    heldOutGoldDelta: gold,
    seconds,
  });
  console.log(`${size} prompts per dimension (${seconds.toFixed(0)} s):`);
  for (const arm of results.arms) console.log(`  ${arm.name} ${points(arm.average.mean)}`);
  for (const d of differences) console.log(`  ${d.arm} − ${d.reference}: ${interval(d.average)}`);
  const file = join(here, `data-sweep-world${world}.json`);
  writeFileSync(
    file,
    await prettier.format(JSON.stringify(record), { ...(await prettier.resolveConfig(file)), filepath: file }),
  );
}
