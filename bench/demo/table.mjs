// The README's table of a `seapo demo` run, from its results.json: per arm the accuracy per dimension
// and the five-dimension average with 95% paired-bootstrap intervals, the difference to vanilla (same
// loss) and to base on the average, each with its interval, and the test answers' error mix.
//
//   node bench/demo/table.mjs out/demo/results.json
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist/demo/index.js");
const { demoResultsSchema } = await import(pathToFileURL(dist).href);
const results = demoResultsSchema.parse(JSON.parse(readFileSync(process.argv[2], "utf8")));
const u = results.uncertainty;
const pct = (x) => (100 * x).toFixed(1);
const signed = (x) => `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;
const cell = (i) => `${pct(i.estimate)} [${pct(i.low)}, ${pct(i.high)}]`;
const delta = (arm, reference) => {
  const d = u.differences.find((x) => x.arm === arm && x.reference === reference);
  return d === undefined ? "–" : `${signed(d.average.estimate)} [${signed(d.average.low)}, ${signed(d.average.high)}]`;
};
const vanillaOf = (arm) => (arm.loss === "kto" ? "vanilla-kto" : "vanilla-dpo");

console.log(
  `| arm | ${results.dimensions.join(" | ")} | average | − vanilla | − base | correct / correctness / logic / hallucination |`,
);
console.log(`|---|${results.dimensions.map(() => "---:|").join("")}---:|---:|---:|---|`);
for (const arm of results.arms) {
  const a = u.accuracy[arm.name];
  const mix = ["correct", "correctness", "logic", "hallucination"].map((k) => (100 * arm.errorMix[k]).toFixed(0));
  console.log(
    `| ${arm.name} | ${results.dimensions.map((d) => cell(a.perDimension[d])).join(" | ")} | ${cell(a.average)} | ${
      arm.method === "seapo" ? delta(arm.name, vanillaOf(arm)) : "–"
    } | ${arm.method === "base" ? "–" : delta(arm.name, "base")} | ${mix.join(" / ")} |`,
  );
}
console.log(`\n${results.verdict.join("\n")}`);
