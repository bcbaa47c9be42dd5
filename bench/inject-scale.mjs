// Benchmark: `seapo inject` on 1, 2 and 4 local endpoints, each a server process that takes
// LATENCY ms per reply with at most CAP replies in flight (so one holds CAP / LATENCY replies/s,
// 320/s at 50 ms and 16), the client capped at CAP per endpoint. Every figure is set against
// references measured in the same run, on the same servers, so that a busy machine moves both:
//   - linear: n × the 1-endpoint rate;
//   - ceiling: a raw undici.request loop sending the same rows as chat POSTs to the same servers;
//   - overhead: seapo's CPU per item minus the raw loop's (everything but sending HTTP).
// Rates and CPU are given whole and "steady" (from the 10% item on, after the JIT warmed up);
// CPU time (process.cpuUsage) is the robust figure on a shared machine, wall-clock rates are not.
// Then peak RSS and the live heap at 10k and ROWS rows, on the live path (4 endpoints, request
// cache on, with the export) and on the batch-file path, with the batch write and read times.
// Run: npm run build && node bench/inject-scale.mjs [ROWS=100000]   (SECONDS_PER_RUN, LATENCY_MS)
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { once } from "node:events";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { readRecords } from "../dist/io/index.js";
import { startZeroLatencyServer, writeAppleRows } from "./common.mjs";

const LATENCY = Number(process.env.LATENCY_MS ?? 50);
const CAP = 16;
const SECONDS = Number(process.env.SECONDS_PER_RUN ?? 8);
const bigRows = Number(process.argv[2] ?? 100_000);
const sizes = [...new Set([Math.min(10_000, bigRows), bigRows])];
const dir = mkdtempSync(join(tmpdir(), "seapo-bench-scale-"));
let runs = 0;

function work(job) {
  const worker = new URL("./inject-worker.mjs", import.meta.url).pathname;
  const result = spawnSync(process.execPath, ["--expose-gc", worker, JSON.stringify(job)], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (result.status !== 0) throw new Error(result.stderr || result.stdout);
  return JSON.parse(result.stdout.trim().split("\n").at(-1));
}

function injectRun(input, urls, extra = {}) {
  const outDir = join(dir, `out-${++runs}`);
  try {
    return work({ mode: "inject", input, outDir, urls, perEndpoint: CAP, ...extra });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
const f = (x, digits = 0) => x.toFixed(digits);

async function scaling(urls) {
  const perEndpoint = (CAP * 1000) / LATENCY;
  const rows = [];
  for (const n of [1, 2, 4]) {
    const input = writeAppleRows(dir, Math.round(perEndpoint * n * SECONDS));
    const raw = work({ mode: "raw", input, urls: urls.slice(0, n), perEndpoint: CAP });
    const seapo = injectRun(input, urls.slice(0, n), { export: false });
    rows.push({ n, raw, seapo });
  }
  const single = rows[0].seapo;
  console.log(
    `scaling, ${CAP} in flight per endpoint, ${LATENCY} ms/reply (${perEndpoint}/s per endpoint); load ${load()}`,
  );
  for (const { n, raw, seapo } of rows) {
    console.log(
      `  ${n} endpoint(s), ${seapo.items} rows: seapo ${f(seapo.rate)} items/s (steady ${f(seapo.steadyRate)}) = ` +
        `${f(seapo.steadyRate / (n * single.steadyRate), 3)}× linear, ${f(seapo.steadyRate / raw.steadyRate, 3)}× the raw client's ${f(raw.steadyRate)}/s, ` +
        `${f(seapo.steadyRate / (n * perEndpoint), 3)}× the servers' ${n * perEndpoint}/s · CPU ${f(seapo.steadyCpuMsPerItem, 3)} ms/item steady ` +
        `(${f(seapo.cpuMsPerItem, 3)} whole run), raw client ${f(raw.steadyCpuMsPerItem, 3)} → pipeline overhead ` +
        `${f(seapo.steadyCpuMsPerItem - raw.steadyCpuMsPerItem, 3)} ms/item · peak RSS ${f(seapo.maxRssMb)} MB`,
    );
  }
}

function livePathMemory(urls) {
  console.log(`live path, ${urls.length} endpoints, request cache on, export included; load ${load()}`);
  for (const n of sizes) {
    const run = injectRun(writeAppleRows(dir, n), urls, { cache: true });
    console.log(
      `  ${String(n).padStart(6)} rows: peak RSS ${f(run.maxRssMb)} MB, live heap after GC ${f(run.liveHeapMb)} MB · ` +
        `${f(run.rate)} items/s, CPU ${f(run.cpuMsPerItem, 3)} ms/item · export ${f(run.exportSeconds, 1)} s`,
    );
  }
}

/** Answers every request line at once, as a batch runner would, writing OpenAI Batch result lines. */
async function answerAll(requestFiles, resultFile) {
  const out = createWriteStream(resultFile);
  for (const file of requestFiles) {
    for await (const request of readRecords(file)) {
      const text = request.body.messages.at(-1).content;
      const answer = /### Original answer\n([\s\S]*?)\n\n### Rewritten answer/.exec(text)?.[1] ?? "answer 1";
      const content = answer.replace(/\d+/, (d) => String(Number(d) + 7));
      const body = {
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 200, completion_tokens: 60 },
      };
      const line = { id: "b", custom_id: request.custom_id, response: { status_code: 200, body }, error: null };
      if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, "drain");
    }
  }
  out.end();
  await once(out, "finish");
}

async function batchPath() {
  console.log(`batch files (--batch-out, then --batch-in through the pipeline); load ${load()}`);
  for (const n of sizes) {
    const input = writeAppleRows(dir, n);
    const outDir = join(dir, `batch-run-${n}`);
    const batchDir = join(dir, `batch-files-${n}`);
    const resultFile = join(dir, `results-${n}.jsonl`);
    const written = work({ mode: "batch-write", input, outDir, batchDir });
    await answerAll(written.files, resultFile);
    const read = work({ mode: "batch-read", input, outDir, resultFile });
    const per = (run) => `${f((run.seconds * 1000) / n, 3)} ms/item wall, ${f(run.cpuMsPerItem, 3)} ms CPU`;
    console.log(
      `  ${String(n).padStart(6)} requests: write ${per(written)} (${written.deferred} pending, ` +
        `${readdirSync(batchDir).length} files), peak RSS ${f(written.maxRssMb)} MB · read back ${per(read)} ` +
        `(${read.newJobs} jobs done), peak RSS ${f(read.maxRssMb)} MB, live heap ${f(read.liveHeapMb)} MB`,
    );
    for (const path of [outDir, batchDir, resultFile]) rmSync(path, { recursive: true, force: true });
  }
}

const servers = await Promise.all([1, 2, 3, 4].map(() => startZeroLatencyServer(["0", String(LATENCY), String(CAP)])));
try {
  const urls = servers.map((s) => `${s.url}/v1`);
  if (!process.env.SKIP_SCALING) await scaling(urls);
  if (!process.env.SKIP_MEMORY) livePathMemory(urls);
  if (!process.env.SKIP_BATCH) await batchPath();
  console.log(`load at the end ${load()}`);
} finally {
  for (const server of servers) server.child.kill();
  rmSync(dir, { recursive: true, force: true });
}
