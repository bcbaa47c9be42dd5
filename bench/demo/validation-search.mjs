// The demo's hyperparameter search (docs/science.md, "What is tuned, and how"), on the validation split
// only. Each configuration is drawn from one space with a fixed seed and run once as a whole `seapo demo`
// (every arm of the chosen profile, one seed, scored on validation), so every arm family is scored on the
// same configurations: the same budget for all. Per family, the configuration with the best five-dimension
// validation average is the one to freeze. KTO arms cannot take the SFT term (the trainer adds it to pairs
// only), so for them configurations that differ only in it are the same run, counted once each all the same.
//
//   npm run build && node bench/demo/validation-search.mjs [configs=6] [--profile quick|default|full]
//        [--world 1|2] [--per-dimension n|all]
// Scores `--per-dimension` validation items per dimension (default 100, the same items for every run).
// Writes bench/demo/validation-search-world<N>.json (every configuration's validation scores per arm and
// the choice per family), assets/demo/tuned-world<N>.json (the choice, which `seapo demo` then trains each
// arm with on that world) and prints the table docs/science.md quotes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as prettier from "prettier";

const here = dirname(fileURLToPath(import.meta.url));
const { defaultDemoOptions, runDemo } = await import(pathToFileURL(join(here, "../../dist/demo/index.js")).href);

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const configs = Number(args.find((a) => /^\d+$/.test(a)) ?? 6);
const profile = flag("--profile", "full");
const defaults = defaultDemoOptions(profile);
const world = Number(flag("--world", String(defaults.world)));
const perDimensionFlag = flag("--per-dimension", "100");
const perDimension = perDimensionFlag === "all" ? "all" : Number(perDimensionFlag);

/** The space every family is searched over. */
export const SPACE = {
  lr: [1e-3, 2e-3, 5e-3],
  beta: [0.1, 0.3],
  steps: [30, 60],
  sftWeight: [0, 0.2],
  loraRank: [8, 16],
};

/** mulberry32: a small seeded generator, so the same draw comes out on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` distinct configurations drawn from the space (seed 14, after the issue). */
function draw(n) {
  const next = rng(14);
  const all = [];
  for (const lr of SPACE.lr)
    for (const beta of SPACE.beta)
      for (const steps of SPACE.steps)
        for (const sftWeight of SPACE.sftWeight)
          for (const loraRank of SPACE.loraRank) all.push({ lr, beta, steps, sftWeight, loraRank });
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, n);
}

/**
 * Writes the search so far: after every configuration, so a search stopped early is a smaller search
 * (the draw's order is fixed, so its first k configurations are exactly a k-configuration search).
 */
/** Writes `value` as JSON the way the repository's Prettier check wants it. */
async function writeJson(file, value) {
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  writeFileSync(file, await prettier.format(JSON.stringify(value), options));
}

async function save() {
  const done = rows.length;
  const arms = Object.keys(rows[0].scores).filter((a) => a !== "base");
  const chosen = Object.fromEntries(
    arms.map((arm) => {
      const best = rows.reduce((b, r) => (r.scores[arm] > b.scores[arm] ? r : b));
      // KTO arms cannot take the SFT term: their row says so rather than carry a weight that does nothing.
      const config = arm.endsWith("-kto") ? { ...best.config, sftWeight: 0 } : best.config;
      return [arm, { config, validationAverage: best.scores[arm] }];
    }),
  );
  const file = join(here, `validation-search-world${world}.json`);
  const record = { profile, world, configs: done, perDimension, space: SPACE, base: rows[0].scores.base, rows, chosen };
  await writeJson(file, record);
  const tunedFile = join(here, `../../assets/demo/tuned-world${world}.json`);
  const tuned = {
    world,
    search: `bench/demo/validation-search.mjs ${done} --profile ${profile} --world ${world} --per-dimension ${perDimension} (bench/demo/validation-search-world${world}.json)`,
    arms: Object.fromEntries(Object.entries(chosen).map(([arm, { config }]) => [arm, config])),
  };
  await writeJson(tunedFile, tuned);
  return { chosen, file, tunedFile };
}

const rows = [];
for (const [i, config] of draw(configs).entries()) {
  const out = join(mkdtempSync(join(tmpdir(), "seapo-demo-search-")), "demo");
  const started = Date.now();
  const results = await runDemo({
    ...defaults,
    ...config,
    // Every arm trains with the configuration under test, never with an earlier choice.
    tuned: undefined,
    ...(world !== defaults.world && {
      world,
      baseDir: `${defaults.baseDir.replace(/-v\d+$/, "")}${world === 1 ? "" : `-v${world}`}`,
    }),
    seeds: [1],
    evalSplit: "validation",
    testPerDimension: perDimension,
    out,
    // Stage times only: they size the final runs.
    log: (line) => line.includes(": ") && / s$/.test(line) && console.log(`  ${line.trim()}`),
  });
  const scores = Object.fromEntries(results.arms.map((a) => [a.name, a.average.mean]));
  rows.push({ config, scores, seconds: (Date.now() - started) / 1000 });
  console.log(`config ${i + 1}/${configs} ${JSON.stringify(config)}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const [arm, v] of Object.entries(scores)) console.log(`  ${arm} ${(100 * v).toFixed(1)}`);
  await save();
}

const { chosen, file, tunedFile } = await save();
console.log(`\n| family | lr | β | steps | SFT weight | LoRA rank | validation average |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|`);
for (const [arm, { config: c, validationAverage }] of Object.entries(chosen))
  console.log(
    `| ${arm} | ${c.lr} | ${c.beta} | ${c.steps} | ${arm.endsWith("-kto") ? "– (KTO)" : c.sftWeight} | ${c.loraRank} | ${(100 * validationAverage).toFixed(1)} |`,
  );
console.log(`base: ${(100 * rows[0].scores.base).toFixed(1)}; written ${file} and ${tunedFile}`);
