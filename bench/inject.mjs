// Benchmark: `seapo inject` against a zero-latency local server at concurrency 64.
// Two references are measured in the same run: a raw undici.request loop (the machine's HTTP
// ceiling) and a bare `openai` client loop (the ceiling of the client library the provider uses).
// Prints items/s against both, seapo's overhead per item on top of the bare client, and peak RSS
// at 10k and 100k rows.
// Run: npm run build && node bench/inject.mjs [rows=20000]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { Agent, request } from "undici";
import { pooledFetch } from "../dist/llm/index.js";
import { startZeroLatencyServer, writeAppleRows } from "./common.mjs";

const CONCURRENCY = 64;
const rows = Number(process.argv[2] ?? 20_000);
const dir = mkdtempSync(join(tmpdir(), "seapo-bench-"));

/** The reference: the same number of chat POSTs of the same size, straight through undici.request. */
async function rawUndici(url, n) {
  const agent = new Agent({ connections: CONCURRENCY });
  const body = JSON.stringify({
    model: "bench",
    temperature: 0,
    max_tokens: 1024,
    messages: [{ role: "user", content: `### Original answer\n${"x".repeat(1200)} 12\n\n### Rewritten answer` }],
  });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) {
        const res = await request(`${url}/v1/chat/completions`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
          dispatcher: agent,
        });
        await res.body.json();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  return seconds;
}

/** The second reference: the openai package alone, with the same fetch and pool as the provider. */
async function bareOpenAI(url, n) {
  const http = pooledFetch(CONCURRENCY);
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0, fetch: http.fetch });
  const content = `### Original answer\n${"x".repeat(1200)} 12\n\n### Rewritten answer`;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) {
        await client.chat.completions.create({
          model: "bench",
          temperature: 0,
          max_tokens: 1024,
          messages: [{ role: "user", content }],
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await http.close();
  return seconds;
}

function runWorker(input, url, cache) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const result = spawnSync(
    process.execPath,
    [new URL("./inject-worker.mjs", import.meta.url).pathname, input, out, `${url}/v1`, String(CONCURRENCY), cache],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(result.stderr);
  rmSync(out, { recursive: true, force: true });
  return JSON.parse(result.stdout.trim().split("\n").at(-1));
}

const server = await startZeroLatencyServer();
try {
  const input = writeAppleRows(dir, rows);
  await rawUndici(server.url, 2000); // warm-up
  const rawSeconds = await rawUndici(server.url, rows);
  const rawRate = rows / rawSeconds;
  console.log(`reference  raw undici.request, concurrency ${CONCURRENCY}: ${rawRate.toFixed(0)} req/s`);
  await bareOpenAI(server.url, 2000); // warm-up
  const clientSeconds = await bareOpenAI(server.url, rows);
  const clientRate = rows / clientSeconds;
  console.log(
    `reference  bare openai client, concurrency ${CONCURRENCY}: ${clientRate.toFixed(0)} req/s (${(clientRate / rawRate).toFixed(2)}× raw)`,
  );
  for (const cache of (process.env.ORDER ?? "no-cache,cache").split(",")) {
    const run = runWorker(input, server.url, cache);
    const rate = rows / run.injectSeconds;
    // Wall time per item beyond what the bare client needs for the same requests.
    const overheadMs = ((run.injectSeconds - clientSeconds) / rows) * 1000;
    console.log(
      `seapo inject (${cache.padEnd(8)}) ${rows} rows: ${rate.toFixed(0)} items/s = ${(rate / rawRate).toFixed(2)}× raw, ${(rate / clientRate).toFixed(2)}× bare client · ` +
        `overhead ${overheadMs.toFixed(3)} ms/item · export ${(run.seconds - run.injectSeconds).toFixed(1)} s · peak RSS ${run.maxRssMb.toFixed(0)} MB · accepted ${run.accepted}`,
    );
  }
  for (const n of [10_000, 100_000]) {
    const run = runWorker(writeAppleRows(dir, n), server.url, "cache");
    console.log(
      `peak RSS at ${String(n).padStart(6)} rows (cache on): ${run.maxRssMb.toFixed(0)} MB · ${(n / run.injectSeconds).toFixed(0)} items/s`,
    );
  }
} finally {
  server.child.kill();
  rmSync(dir, { recursive: true, force: true });
}
