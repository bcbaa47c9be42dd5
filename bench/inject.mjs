// Benchmark: `seapo inject` against one zero-latency local server at concurrency 64, so the client
// is the limit. The reference, measured in the same run against the same server, is a raw
// undici.request loop sending the same rows as chat POSTs (bench/inject-worker.mjs "raw"). Prints
// items/s against it, and seapo's CPU per item beside the raw loop's: the difference is the
// pipeline's own overhead (prompt building, verification, journals, the pool, the request cache).
// CPU time is the robust figure on a shared machine. Scaling over endpoints, memory at 10k/100k
// rows and the batch files are in bench/inject-scale.mjs.
// Run: npm run build && node bench/inject.mjs [rows=20000]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startZeroLatencyServer, writeAppleRows } from "./common.mjs";

const CONCURRENCY = 64;
const rows = Number(process.argv[2] ?? 20_000);
const dir = mkdtempSync(join(tmpdir(), "seapo-bench-"));

function work(job) {
  const worker = new URL("./inject-worker.mjs", import.meta.url).pathname;
  const result = spawnSync(process.execPath, ["--expose-gc", worker, JSON.stringify(job)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr || result.stdout);
  return JSON.parse(result.stdout.trim().split("\n").at(-1));
}

const server = await startZeroLatencyServer();
try {
  const urls = [`${server.url}/v1`];
  const input = writeAppleRows(dir, rows);
  console.log(
    `load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  const raw = work({ mode: "raw", input, urls, perEndpoint: CONCURRENCY });
  console.log(
    `reference  raw undici.request, concurrency ${CONCURRENCY}: ${raw.steadyRate.toFixed(0)} req/s steady, ` +
      `CPU ${raw.steadyCpuMsPerItem.toFixed(3)} ms/request`,
  );
  for (const cache of [false, true]) {
    const outDir = join(dir, `out-${cache}`);
    const run = work({ mode: "inject", input, outDir, urls, perEndpoint: CONCURRENCY, cache });
    rmSync(outDir, { recursive: true, force: true });
    console.log(
      `seapo inject (${cache ? "cache   " : "no cache"}) ${rows} rows: ${run.steadyRate.toFixed(0)} items/s steady ` +
        `(${run.rate.toFixed(0)} whole run) = ${(run.steadyRate / raw.steadyRate).toFixed(2)}× raw · CPU ` +
        `${run.steadyCpuMsPerItem.toFixed(3)} ms/item, overhead ${(run.steadyCpuMsPerItem - raw.steadyCpuMsPerItem).toFixed(3)} ms/item · ` +
        `export ${run.exportSeconds.toFixed(1)} s · peak RSS ${run.maxRssMb.toFixed(0)} MB`,
    );
  }
} finally {
  server.child.kill();
  rmSync(dir, { recursive: true, force: true });
}
