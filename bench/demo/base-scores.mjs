// A base model's greedy scores on every validation item of its world: accuracy per dimension, the
// five-dimension average, the error-type mix of its wrong answers and the right share per task kind.
// This is what docs/science.md's table of world and base versions records; validation only, never test.
//
//   npm run build && node bench/demo/base-scores.mjs [--world 1|2] [--base <dir>]
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist/demo");
const load = async (file) => import(pathToFileURL(join(dist, file)).href);
const { defaultDemoOptions, SHIPPED_BASE_DIRS } = await load("options.js");
const { loadDemoSetup } = await load("setup.js");
const { evaluateOnWorld } = await load("evaluate.js");
const { dimensions } = await load("world/index.js");

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const version = Number(flag("--world", "1"));
const defaults = defaultDemoOptions(version === 1 ? "default" : "full");
const options = {
  ...defaults,
  world: version,
  baseDir: flag("--base", SHIPPED_BASE_DIRS[version]),
  out: "/tmp",
  log: () => {},
};
const setup = await loadDemoSetup(options);
const items = dimensions.flatMap((d) => setup.pool("validation")[d]);

const started = Date.now();
const scores = evaluateOnWorld(setup.baseModel, setup.base.tokenizer, setup.world, items, setup.answerOptions);
const pct = (x) => (100 * x).toFixed(1);
const counted = (key) => {
  const out = {};
  for (const a of scores.answers) {
    const k = key(a);
    out[k] ??= [0, 0];
    out[k][0] += a.correct ? 1 : 0;
    out[k][1] += 1;
  }
  return Object.entries(out).map(([k, [right, n]]) => `${k} ${right}/${n}`);
};
const average = dimensions.reduce((s, d) => s + scores.accuracy[d], 0) / dimensions.length;
const wrong = scores.answers.filter((a) => !a.correct);
const types = {};
for (const a of wrong) types[a.errorType] = (types[a.errorType] ?? 0) + 1;
console.log(`world ${version}, base ${options.baseDir}: ${items.length} validation items`);
console.log(`| ${dimensions.join(" | ")} | average |`);
console.log(`| ${dimensions.map((d) => pct(scores.accuracy[d])).join(" | ")} | ${pct(average)} |`);
console.log(`MC1 ${pct(scores.mc1 ?? 0)}, MC2 ${pct(scores.mc2 ?? 0)}`);
console.log(`wrong ${wrong.length}: ${JSON.stringify(types)}`);
console.log(`right per kind: ${counted((a) => `${a.item.dimension}/${a.item.spec?.kind ?? "-"}`).join("; ")}`);
console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`);
