// Issue 14's negative-plausibility statistic on the validation split: the base model's mean per-token
// log-prob of SeaPO's injected negatives (the world's rules, each error type, injected into every item's
// gold answer) against its own sampled answers (temperature 1, two per item) that the checker judged wrong,
// with the gold answers as the scale. Validation only: nothing here is a test-set number.
//
//   npm run build && node bench/demo/plausibility.mjs [--world 1|2]
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist/demo");
const load = async (file) => import(pathToFileURL(join(dist, file)).href);
const { defaultDemoOptions } = await load("options.js");
const { loadDemoSetup } = await load("setup.js");
const { answerPrompts } = await load("evaluate.js");
const { meanTokenLogprob } = await load("likelihood.js");
const { Rng } = await import(pathToFileURL(join(dist, "../engine/index.js")).href);
const world = await load("world/index.js");

const version = Number(process.argv.includes("--world") ? process.argv[process.argv.indexOf("--world") + 1] : 1);
const defaults = defaultDemoOptions(version === 1 ? "default" : "full");
const setup = await loadDemoSetup({ ...defaults, world: version, out: "/tmp", log: () => {} });
const items = world.dimensions.flatMap((d) => setup.pool("validation")[d]);
const { baseModel: model, base } = setup;
const tok = base.tokenizer;
const score = (answers) => ({ mean: meanTokenLogprob(model, tok, answers), n: answers.length });

const started = Date.now();
const rows = { gold: score(items.map((i) => ({ prompt: i.prompt, text: i.answer }))) };
const rng = new Rng(14);
for (const type of world.worldErrorTypes) {
  const negatives = [];
  for (const item of items) {
    const text = world.injectError(setup.world, item, item.answer, type, rng);
    if (text !== undefined) negatives.push({ prompt: item.prompt, text });
  }
  rows[`seapo ${type}`] = score(negatives);
}
const wrong = [];
const byDimension = {};
for (const k of [0, 1]) {
  const answers = answerPrompts(
    model,
    tok,
    items.map((i) => i.prompt),
    { maxNewTokens: 80, batchSize: 16, temperature: 1, seed: 14 * 2 + k },
  );
  items.forEach((item, i) => {
    const verdict = world.checkAnswer(setup.world, item, answers[i]);
    if (!verdict.correct) {
      wrong.push({ prompt: item.prompt, text: answers[i], type: verdict.errorType, dimension: item.dimension });
      byDimension[item.dimension] = (byDimension[item.dimension] ?? 0) + 1;
    }
  });
}
rows["sampled wrong (all)"] = score(wrong);
for (const type of world.worldErrorTypes) rows[`sampled wrong, ${type}`] = score(wrong.filter((w) => w.type === type));

console.log(`world ${version}, ${items.length} validation items, ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log("| answers | n | mean per-token log-prob (base model) |\n|---|---:|---:|");
for (const [name, { mean, n }] of Object.entries(rows)) console.log(`| ${name} | ${n} | ${mean?.toFixed(3) ?? "–"} |`);
console.log(`sampled wrong answers per dimension: ${JSON.stringify(byDimension)}`);
