// Benchmark: wall time of `seapo demo --quick`, the default `seapo demo` and `seapo demo --full`, against
// their budgets (3, 10 and 60 minutes on a 2-core machine), with the slowest stages of each run. The
// machine is often shared, so each run also records the load average before and after and the CPU time
// the run itself used (user + system, from /proc/self/stat's children fields): on a loaded machine the
// CPU time, not the wall time, says what an idle machine would take (at most the CPU time, at least half of
// it with both cores busy). Not a test: the times are recorded here and in docs/science.md, never asserted.
//
//   npm run build && node bench/demo/run.mjs            # quick and default
//   node bench/demo/run.mjs full                        # one of them: quick | default | full
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../../dist");
const cli = join(dist, "cli/main.js");
// results.json is read through the schema the demo writes it with.
const { demoResultsSchema } = await import(pathToFileURL(join(dist, "demo/index.js")).href);
const runs = {
  quick: { args: ["--quick"], budget: 180 },
  default: { args: [], budget: 600 },
  full: { args: ["--full"], budget: 3600 },
};
const only = process.argv[2];
const extra = process.argv.slice(3);

/** CPU seconds (user + system) of the children this process has waited for. */
function childCpuSeconds() {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  // After the command name: field 3 is index 0, so cutime (16) and cstime (17) are indexes 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

for (const [name, { args, budget }] of Object.entries(runs)) {
  if (only === undefined ? name === "full" : only !== name) continue;
  const out = join(mkdtempSync(join(tmpdir(), "seapo-bench-demo-")), "demo");
  const loadBefore = loadavg()[0];
  const cpuBefore = childCpuSeconds();
  const started = performance.now();
  // The same V8 flag the `seapo` executable's shebang sets.
  const child = spawnSync(
    process.execPath,
    ["--max-semi-space-size=64", cli, "demo", ...args, ...extra, "--out", out],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", maxBuffer: 1 << 28 },
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = childCpuSeconds() - cpuBefore;
  if (child.status !== 0) throw new Error(`seapo demo ${args.join(" ")} failed:\n${child.stderr.slice(-2000)}`);
  const results = demoResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
  const slowest = [...results.timings].sort((a, b) => b.seconds - a.seconds).slice(0, 3);
  console.log(
    `== demo ${name}: ${seconds.toFixed(0)} s wall, ${(seconds / budget).toFixed(2)} of the ${budget} s budget; ${results.arms.length} arms × ${results.seeds.length} seed(s)`,
  );
  console.log(
    `   CPU ${cpu.toFixed(0)} s (user + system); load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after; ` +
      `an idle 2-core machine: between ${(cpu / 2).toFixed(0)} and ${cpu.toFixed(0)} s`,
  );
  console.log(`   slowest stages: ${slowest.map((t) => `${t.stage} ${t.seconds.toFixed(1)} s`).join("; ")}`);
  console.log(`   results: ${join(out, "results.json")}`);
}
