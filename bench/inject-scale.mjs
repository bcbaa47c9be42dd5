// Benchmark: `seapo inject` on 1, 2 and 4 local endpoints, each a server process that takes
// LATENCY ms per reply with at most CAP replies in flight (so one holds CAP / LATENCY replies/s,
// 320/s at 50 ms and 16), the client capped at CAP per endpoint. Prints items/s and the share of
// linear scaling. Then the batch-file round trip for ROWS requests: the time to write the
// request files (--batch-out) and to read results back through the pipeline (--batch-in).
// Run: npm run build && node bench/inject-scale.mjs [batchRows=100000]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, createWriteStream } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRecords } from "../dist/io/index.js";
import { openBatchSession } from "../dist/llm/index.js";
import { builtinErrorTypes, runInject } from "../dist/negatives/index.js";
import { startZeroLatencyServer, writeAppleRows } from "./common.mjs";

const LATENCY = Number(process.env.LATENCY_MS ?? 50);
const CAP = 16;
const SECONDS = Number(process.env.SECONDS_PER_RUN ?? 6);
const batchRows = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), "seapo-bench-scale-"));

async function startServer() {
  const { child, url } = await startZeroLatencyServer(["0", String(LATENCY), String(CAP)]);
  return { child, url: `${url}/v1` };
}

function runWorker(input, urls) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const worker = new URL("./inject-worker.mjs", import.meta.url).pathname;
  const args = [worker, input, out, urls.join(","), String(CAP * urls.length), "no-cache", String(CAP)];
  const result = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr);
  rmSync(out, { recursive: true, force: true });
  return JSON.parse(result.stdout.trim().split("\n").at(-1));
}

async function scaling() {
  const servers = await Promise.all([1, 2, 3, 4].map(startServer));
  try {
    const perEndpoint = (CAP * 1000) / LATENCY;
    let single;
    for (const n of [1, 2, 4]) {
      const rows = Math.round(perEndpoint * n * SECONDS);
      const run = runWorker(
        writeAppleRows(dir, rows),
        servers.slice(0, n).map((s) => s.url),
      );
      const rate = rows / run.injectSeconds;
      single ??= rate;
      console.log(
        `${n} endpoint(s), ${CAP} in flight each, ${LATENCY} ms/reply: ${rate.toFixed(0)} items/s = ` +
          `${(rate / (perEndpoint * n)).toFixed(3)}× the servers' ${perEndpoint * n}/s ceiling, ` +
          `${(rate / (single * n)).toFixed(3)}× linear from 1 · client CPU ${run.cpuMsPerItem.toFixed(3)} ms/item · ${rows} rows · peak RSS ${run.maxRssMb.toFixed(0)} MB`,
      );
    }
  } finally {
    for (const server of servers) server.child.kill();
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

async function batchRoundTrip() {
  const input = writeAppleRows(dir, batchRows);
  const strategy = { kind: "single", type: builtinErrorTypes[0] };
  const outDir = join(dir, "batch-run");
  const batchDir = join(dir, "batch-files");
  const inject = async (session) =>
    runInject({ input, outDir, strategy, injector: session.model("bench"), injectorName: "bench", window: 128 });
  let started = performance.now();
  let cpu = process.cpuUsage();
  const writing = await openBatchSession({ outDir: batchDir });
  const first = await inject(writing);
  const files = writing.close();
  const writeSeconds = (performance.now() - started) / 1000;
  const writeCpu = cpuSeconds(cpu);
  const resultFile = join(dir, "results.jsonl");
  await answerAll(files, resultFile);
  started = performance.now();
  cpu = process.cpuUsage();
  const reading = await openBatchSession({ inFiles: [resultFile] });
  const second = await inject(reading);
  const readSeconds = (performance.now() - started) / 1000;
  const readCpu = cpuSeconds(cpu);
  console.log(
    `batch files, ${batchRows} requests: write ${writeSeconds.toFixed(1)} s wall, ${writeCpu.toFixed(1)} s CPU (${first.deferred} pending, ${readdirSync(batchDir).length} files) · ` +
      `read back through the pipeline ${readSeconds.toFixed(1)} s wall, ${readCpu.toFixed(1)} s CPU (${second.newJobs} jobs done, ${reading.counts.used} results used) · ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
}

function cpuSeconds(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

try {
  if (!process.env.SKIP_SCALING) await scaling();
  if (batchRows > 0) await batchRoundTrip();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
