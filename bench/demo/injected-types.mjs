// How the world's checker classifies SeaPO's injected negatives: for every validation item and error
// type, the rule-based injector's edit of the gold answer, judged like a model's answer. A row says
// which type the checker saw in the negatives injected as that type (and how many it judged right,
// which would be a broken injection). No model is involved; validation only.
//
//   npm run build && node bench/demo/injected-types.mjs [--world 1|2]
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist/demo");
const load = async (file) => import(pathToFileURL(join(dist, file)).href);
const { defaultDemoOptions } = await load("options.js");
const { loadDemoSetup } = await load("setup.js");
const { Rng } = await import(pathToFileURL(join(dist, "../engine/index.js")).href);
const world = await load("world/index.js");

const version = Number(process.argv.includes("--world") ? process.argv[process.argv.indexOf("--world") + 1] : 1);
const defaults = defaultDemoOptions(version === 1 ? "quick" : "full");
const setup = await loadDemoSetup({ ...defaults, world: version, out: "/tmp", log: () => {} });
const items = world.dimensions.flatMap((d) => setup.pool("validation")[d]);
const rng = new Rng(14);
console.log(`world ${version}: ${items.length} validation items`);
console.log("| injected as | negatives | no rule fits | judged correctness | logic | hallucination | right |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const type of world.worldErrorTypes) {
  const seen = { correctness: 0, logic: 0, hallucination: 0, right: 0 };
  let skipped = 0;
  for (const item of items) {
    const text = world.injectError(setup.world, item, item.answer, type, rng);
    if (text === undefined) {
      skipped++;
      continue;
    }
    const verdict = world.checkAnswer(setup.world, item, text);
    seen[verdict.correct ? "right" : verdict.errorType]++;
  }
  const n = items.length - skipped;
  console.log(
    `| ${type} | ${n} | ${skipped} | ${seen.correctness} | ${seen.logic} | ${seen.hallucination} | ${seen.right} |`,
  );
}
