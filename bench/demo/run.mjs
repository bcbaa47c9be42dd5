// Benchmark: wall time of `seapo demo --quick` and of the default `seapo demo`, against their budgets
// (3 and 10 minutes on a 2-core machine), with the slowest stages of each run. Not a test: the times
// are recorded here and in the closing notes, never asserted.
//
//   npm run build && node bench/demo/run.mjs            # both
//   node bench/demo/run.mjs quick                       # one of them: quick | default
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist");
const cli = join(dist, "cli/main.js");
// results.json is read through the schema the demo writes it with.
const { demoResultsSchema } = await import(pathToFileURL(join(dist, "demo/index.js")).href);
const runs = { quick: { args: ["--quick"], budget: 180 }, default: { args: [], budget: 600 } };
const only = process.argv[2];

for (const [name, { args, budget }] of Object.entries(runs)) {
  if (only !== undefined && only !== name) continue;
  const out = join(mkdtempSync(join(tmpdir(), "seapo-bench-demo-")), "demo");
  const started = performance.now();
  // The same V8 flag the `seapo` executable's shebang sets.
  const child = spawnSync(process.execPath, ["--max-semi-space-size=64", cli, "demo", ...args, "--out", out], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const seconds = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(`seapo demo ${args.join(" ")} failed:\n${child.stderr.slice(-2000)}`);
  const results = demoResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
  const slowest = [...results.timings].sort((a, b) => b.seconds - a.seconds).slice(0, 3);
  console.log(
    `== demo ${name}: ${seconds.toFixed(0)} s wall, ${(seconds / budget).toFixed(2)} of the ${budget} s budget; ${results.arms.length} arms × ${results.seeds.length} seed(s)`,
  );
  console.log(`   slowest stages: ${slowest.map((t) => `${t.stage} ${t.seconds.toFixed(1)} s`).join("; ")}`);
}
