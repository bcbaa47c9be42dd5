// Does a base model know its world's facts as plain text? For the one-hop fact questions of the train
// and validation splits, the fact's canonical statement is cut before its value ("The capital of Rofo
// is") and the base model continues it greedily, without the chat template. A continuation that starts
// with the value counts as recalled. Train keys are also taught by SFT; validation keys appear only in
// the pretraining corpus, so their recall is what the knowledge dimension can build on at best.
//
//   npm run build && node bench/demo/fact-recall.mjs [--world 1|2] [--base <dir>] [--items 150]
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist");
const load = async (file) => import(pathToFileURL(join(dist, file)).href);
const { defaultDemoOptions, SHIPPED_BASE_DIRS } = await load("demo/options.js");
const { loadDemoSetup } = await load("demo/setup.js");
const { canonicalFact } = await load("demo/world/format.js");
const { generate } = await load("engine/index.js");

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const version = Number(flag("--world", "1"));
const limit = Number(flag("--items", "150"));
const defaults = defaultDemoOptions(version === 1 ? "default" : "full");
const baseDir = flag("--base", SHIPPED_BASE_DIRS[version]);
const setup = await loadDemoSetup({ ...defaults, world: version, baseDir, out: "/tmp", log: () => {} });
const tokenizer = setup.base.tokenizer;

/** The statement of the item's fact up to its value, e.g. "North of Boko lies". */
const cue = (item) => canonicalFact[item.spec.relation](item.spec.subject, "\u0000").split("\u0000")[0].trimEnd();

function recall(items) {
  const prompts = items.map((item) => tokenizer.encode(cue(item), { addSpecialTokens: false }));
  let right = 0;
  for (let start = 0; start < prompts.length; start += 25) {
    const outputs = generate(setup.baseModel, prompts.slice(start, start + 25), { maxNewTokens: 8, temperature: 0 });
    outputs.forEach((output, k) => {
      if (
        tokenizer
          .decode(output.tokens)
          .trim()
          .startsWith(items[start + k].final)
      )
        right++;
    });
  }
  return right;
}

console.log(`world ${version}, base ${baseDir}`);
for (const split of ["train", "validation"]) {
  const items = setup
    .pool(split)
    .knowledge.filter((item) => item.spec?.kind === "fact")
    .slice(0, limit);
  const right = recall(items);
  console.log(`${split}: ${right}/${items.length} facts recalled (${((100 * right) / items.length).toFixed(1)}%)`);
}
