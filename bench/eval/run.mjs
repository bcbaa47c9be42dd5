// Benchmark: log-likelihood requests per second against the zero-latency local server
// (bench/zero-latency-server.mjs), one prompt per request against batched prompts (`prompt: [...]`,
// eval's --batch-size), each beside a raw undici.request loop sending the same bodies in the same run.
// The server costs almost nothing, so the figures are the client's ceiling, not a model's.
// Run: npm run build && node bench/eval/run.mjs [requests=20000] [batch=16]
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { createOpenAIModel, withRequestCache } from "../../dist/llm/index.js";
import { startZeroLatencyServer } from "../common.mjs";

const CONCURRENCY = 16; // --concurrency's default
const total = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 16);

// MMLU-sized requests: a ~600-character context and a one-word answer, every one distinct.
const requests = Array.from({ length: total }, (_, i) => ({
  context: `The following are multiple choice questions (with answers) about arithmetic.\n\n${"Some context words. ".repeat(25)}Question ${i}: what is ${i} plus ${i}?\nA. ${2 * i}\nB. ${2 * i + 1}\nC. ${i}\nD. 0\nAnswer:`,
  continuation: [" A", " B", " C", " D"][i % 4],
}));

/** The reference: the same echo bodies, `per` prompts each, straight through undici.request. */
async function rawUndici(url, per) {
  const agent = new Agent({ connections: CONCURRENCY });
  const bodies = [];
  for (let i = 0; i < requests.length; i += per) {
    const prompts = requests.slice(i, i + per).map((r) => r.context + r.continuation);
    const prompt = per === 1 ? prompts[0] : prompts;
    bodies.push(JSON.stringify({ model: "bench", prompt, echo: true, max_tokens: 1, logprobs: 1, temperature: 0 }));
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const res = await request(`${url}/v1/completions`, {
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
  return requests.length / seconds;
}

/** seapo's provider: every request handed to logprobs() at once, as runEval's example queue does. */
async function seapo(url, batchSize, { cached } = {}) {
  const provider = createOpenAIModel({ baseURL: `${url}/v1`, model: "bench", concurrency: CONCURRENCY, batchSize });
  const dir = cached ? mkdtempSync(join(tmpdir(), "seapo-bench-eval-")) : undefined;
  const model = cached ? withRequestCache(provider, { dir }) : provider;
  const started = performance.now();
  const results = await model.logprobs(requests);
  const seconds = (performance.now() - started) / 1000;
  await model.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (results.length !== total || !results.every((r) => r.tokenCount === 1)) throw new Error("wrong results");
  return total / seconds;
}

const { child, url } = await startZeroLatencyServer();
try {
  await seapo(url, batch); // warm up the JIT and the connections
  const figures = {
    rawOne: await rawUndici(url, 1),
    seapoOne: await seapo(url, 1),
    rawBatched: await rawUndici(url, batch),
    seapoBatched: await seapo(url, batch),
    seapoBatchedCached: await seapo(url, batch, { cached: true }),
  };
  const f = (x) => x.toFixed(0).padStart(7);
  const r = (x) => x.toFixed(2);
  console.log(
    `${total} log-likelihood requests, concurrency ${CONCURRENCY}, batch ${batch}; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `one prompt per request   raw undici ${f(figures.rawOne)}/s   seapo ${f(figures.seapoOne)}/s   seapo/raw ${r(figures.seapoOne / figures.rawOne)}`,
  );
  console.log(
    `${batch} prompts per request  raw undici ${f(figures.rawBatched)}/s   seapo ${f(figures.seapoBatched)}/s   seapo/raw ${r(figures.seapoBatched / figures.rawBatched)}`,
  );
  console.log(`batched through the request cache (eval's path)   seapo ${f(figures.seapoBatchedCached)}/s`);
  console.log(
    `batched/one: raw ${r(figures.rawBatched / figures.rawOne)}, seapo ${r(figures.seapoBatched / figures.seapoOne)}`,
  );
  console.log(JSON.stringify({ total, batch, concurrency: CONCURRENCY, ...figures }));
} finally {
  child.kill();
}
