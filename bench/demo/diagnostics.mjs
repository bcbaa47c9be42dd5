// Issue 14's diagnostics of one `seapo demo` run, from its results.json, as docs/science.md quotes them:
// negative plausibility, held-out gold log-prob before and after training (likelihood displacement),
// the first and last logged steps of each arm's curve, vanilla's pair shares, and whether most-common
// (chosen on training prompts) names the base model's most common error on the test items.
//
//   node bench/demo/diagnostics.mjs out/demo/results.json
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist/demo/index.js");
const { demoResultsSchema } = await import(pathToFileURL(dist).href);
const r = demoResultsSchema.parse(JSON.parse(readFileSync(process.argv[2], "utf8")));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f3 = (x) => (x === null || x === undefined ? "–" : x.toFixed(3));

console.log("negative plausibility (base model, mean per-token log-prob over seeds; n per seed):");
const p = r.plausibility ?? [];
const row = (name, pick) => {
  const sets = p.map(pick).filter((s) => s !== undefined && s.mean !== null);
  if (sets.length > 0) console.log(`| ${name} | ${sets[0].n} | ${f3(mean(sets.map((s) => s.mean)))} |`);
};
console.log("| answers | n | log-prob |\n|---|---:|---:|");
row("gold", (s) => s.gold);
row("SeaPO mixed negatives", (s) => s.seapo);
for (const type of ["correctness", "logic", "hallucination"]) row(`… ${type}`, (s) => s.seapoByType[type]);
row("the base model's own wrong samples", (s) => s.sampledWrong);

console.log(
  "\nper arm: held-out gold log-prob after − before, and the curve's first and last logged steps (mean over seeds):",
);
console.log(
  "| arm | gold Δ | loss first → last | margin first → last | chosen log-p first → last | rejected log-p first → last |",
);
console.log("|---|---:|---|---|---|---|");
for (const arm of r.arms.filter((a) => a.method !== "base")) {
  const gold = mean((arm.heldOutGold ?? []).map((g) => g.after - g.before));
  const ends = (key) => {
    const first = mean(arm.curves.map((c) => c.points[0]?.[key] ?? NaN));
    const last = mean(arm.curves.map((c) => c.points.at(-1)?.[key] ?? NaN));
    return `${f3(first)} → ${f3(last)}`;
  };
  console.log(
    `| ${arm.name} | ${gold >= 0 ? "+" : ""}${f3(gold)} | ${ends("loss")} | ${ends("margin")} | ${ends("chosenLogp")} | ${ends("rejectedLogp")} |`,
  );
}

const v = r.vanilla?.perSeed ?? [];
const total = (k) => v.reduce((s, x) => s + x[k], 0);
const n = total("pairs");
console.log(
  `\nvanilla pairs over ${v.length} seeds: ${n}; informative ${total("informative")} (${((100 * total("informative")) / n).toFixed(1)}%), both right ${total("bothRight")}, both wrong ${total("bothWrong")}, reversed ${total("reversed")} (${((100 * total("reversed")) / n).toFixed(1)}%)`,
);
const base = r.arms.find((a) => a.name === "base");
const testMix = ["correctness", "logic", "hallucination"].map((t) => [t, base.errorMix[t]]);
const testTop = testMix.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
const trainTop = Object.entries(r.analysis.byType).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
console.log(
  `analyze on training prompts: ${JSON.stringify(r.analysis.byType)} of ${r.analysis.wrong} wrong → most-common ${trainTop}; ` +
    `base on the test items: ${testMix.map(([t, x]) => `${t} ${(100 * x).toFixed(1)}%`).join(", ")} → ${testTop}` +
    `${trainTop === testTop ? " (the same type)" : " (a different type)"}`,
);
