// One measured run in a fresh process (so each run has its own peak RSS), printing one JSON line.
// The argument is a JSON object:
//   {mode: "inject", input, outDir, urls, perEndpoint, cache?, export?}  seapo inject through the
//     endpoint pool the CLI uses (each endpoint capped at perEndpoint in flight), then the export;
//   {mode: "raw", input, urls, perEndpoint}  the reference: the same rows as chat POSTs of the
//     same shape, straight through undici.request, parsing each reply, nothing else;
//   {mode: "batch-write" | "batch-read", input, outDir, batchDir, resultFile?}  the two steps of
//     the batch-file workflow (--batch-out, then --batch-in) through the same pipeline.
// Figures: seconds and CPU (user + system, process.cpuUsage) over the whole run and over its
// steady part (from the 10% item on, after the JIT has warmed up), peak RSS, and the live heap
// after a full GC at the end (run with --expose-gc).
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { Pool } from "undici";
import { createEndpointPool, openBatchSession, withRequestCache } from "../dist/llm/index.js";
import { builtinErrorTypes, exportDatasets, runInject } from "../dist/negatives/index.js";

const job = JSON.parse(process.argv[2]);
const strategy = { kind: "single", type: builtinErrorTypes[0] };

/** Counts items; at the 10% mark it takes the time and CPU, so the steady rate leaves warm-up out. */
function meter(total) {
  const start = { time: performance.now(), cpu: process.cpuUsage() };
  let steady;
  let done = 0;
  return {
    tick() {
      if (++done === Math.ceil(total / 10)) steady = { time: performance.now(), cpu: process.cpuUsage(), done };
    },
    result() {
      const end = { time: performance.now(), cpu: process.cpuUsage() };
      const cpuMs = (from) => (end.cpu.user - from.cpu.user + end.cpu.system - from.cpu.system) / 1000;
      const seconds = (end.time - start.time) / 1000;
      const steadyItems = done - (steady?.done ?? 0);
      const steadySeconds = steady ? (end.time - steady.time) / 1000 : seconds;
      return {
        items: done,
        seconds,
        rate: done / seconds,
        cpuMsPerItem: cpuMs({ cpu: { user: 0, system: 0 } }) / done,
        steadyRate: steadyItems / steadySeconds,
        steadyCpuMsPerItem: (steady ? cpuMs(steady) : cpuMs({ cpu: { user: 0, system: 0 } })) / steadyItems,
      };
    },
  };
}

function memory() {
  globalThis.gc?.();
  return { maxRssMb: process.resourceUsage().maxRSS / 1024, liveHeapMb: process.memoryUsage().heapUsed / 2 ** 20 };
}

/** Lines in the input, read in chunks so the count adds nothing to the memory being measured. */
function countRows(input) {
  const fd = openSync(input, "r");
  const chunk = Buffer.alloc(1 << 16);
  let n = 0;
  for (let read; (read = readSync(fd, chunk, 0, chunk.length, null)) > 0;) {
    for (let at = chunk.indexOf(10); at >= 0 && at < read; at = chunk.indexOf(10, at + 1)) n++;
  }
  closeSync(fd);
  return n;
}

async function inject() {
  const endpoints = job.urls.map((url) => ({ url, model: "bench", weight: 1, maxConcurrency: job.perEndpoint }));
  const concurrency = job.perEndpoint * endpoints.length;
  let model = createEndpointPool({ endpoints, concurrency });
  if (job.cache) model = withRequestCache(model, { dir: `${job.outDir}/cache` });
  const m = meter(countRows(job.input));
  const run = await runInject({
    input: job.input,
    outDir: job.outDir,
    strategy,
    injector: model,
    injectorName: "bench",
    window: 2 * concurrency,
    onJobDone: () => m.tick(),
  });
  const figures = m.result();
  await model.close();
  let exportSeconds;
  if (job.export !== false) {
    const started = performance.now();
    await exportDatasets(job.outDir, strategy, 0, { retries: 0, cacheHits: 0, cacheMisses: 0 });
    exportSeconds = (performance.now() - started) / 1000;
  }
  return { ...figures, newJobs: run.newJobs, exportSeconds, ...memory() };
}

/** The same requests the pipeline sends for these rows, in the same shape, and nothing more. */
async function raw() {
  const rows = readFileSync(job.input, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const pools = job.urls.map((url) => ({
    pool: new Pool(new URL(url).origin, { connections: job.perEndpoint }),
    path: `${new URL(url).pathname}/chat/completions`,
  }));
  const m = meter(rows.length);
  let next = 0;
  const headers = { "content-type": "application/json", accept: "application/json" };
  const lane = async ({ pool, path }) => {
    while (next < rows.length) {
      const row = rows[next++];
      const content = `Error type: ${strategy.type.name}\n### Question\n${row.prompt}\n\n### Original answer\n${row.response}\n\n### Rewritten answer`;
      const body = JSON.stringify({
        model: "bench",
        max_tokens: 1024,
        temperature: 0,
        seed: 0,
        messages: [{ role: "user", content: content.padStart(1500) }],
      });
      const reply = await pool.request({ method: "POST", path, headers, body });
      JSON.parse(await reply.body.text());
      m.tick();
    }
  };
  await Promise.all(pools.flatMap((p) => Array.from({ length: job.perEndpoint }, () => lane(p))));
  await Promise.all(pools.map((p) => p.pool.close()));
  return { ...m.result(), ...memory() };
}

async function batch() {
  const writing = job.mode === "batch-write";
  const session = await openBatchSession(writing ? { outDir: job.batchDir } : { inFiles: [job.resultFile] });
  const m = meter(countRows(job.input));
  const run = await runInject({
    input: job.input,
    outDir: job.outDir,
    strategy,
    injector: session.model("bench"),
    injectorName: "bench",
    window: 128,
    onJobDone: () => m.tick(),
  });
  const files = session.close();
  return { ...m.result(), deferred: run.deferred, newJobs: run.newJobs, files, counts: session.counts, ...memory() };
}

const result = job.mode === "inject" ? await inject() : job.mode === "raw" ? await raw() : await batch();
process.stdout.write(`${JSON.stringify(result)}\n`);
