// Runs one injection in a fresh process and prints {seconds, maxRssMb, accepted} as JSON, so the
// benchmark can read each run's own peak memory. The injector is the endpoint pool the CLI uses:
// baseURLs is a comma-separated list, each endpoint capped at perEndpoint requests in flight.
import { createEndpointPool, withRequestCache } from "../dist/llm/index.js";
import { builtinErrorTypes, exportDatasets, runInject } from "../dist/negatives/index.js";

const [input, outDir, baseURLs, concurrency, cache, perEndpoint] = process.argv.slice(2);
const strategy = { kind: "single", type: builtinErrorTypes[0] };
const endpoints = baseURLs.split(",").map((url) => ({
  url,
  model: "bench",
  weight: 1,
  maxConcurrency: Number(perEndpoint ?? concurrency),
}));
let model = createEndpointPool({ endpoints, concurrency: Number(concurrency) });
if (cache === "cache") model = withRequestCache(model, { dir: `${outDir}/cache` });
const started = performance.now();
const cpuBefore = process.cpuUsage();
const run = await runInject({
  input,
  outDir,
  strategy,
  injector: model,
  injectorName: "bench",
  window: 2 * Number(concurrency),
});
const injectSeconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
// The client's own CPU time (user + system) per item: what bounds it, whatever else runs on the machine.
const cpuMsPerItem = (cpu.user + cpu.system) / 1000 / Math.max(1, run.newJobs);
const stats = await exportDatasets(outDir, strategy, 0, { retries: 0, cacheHits: 0, cacheMisses: 0 });
const seconds = (performance.now() - started) / 1000;
await model.close();
process.stdout.write(
  `${JSON.stringify({ seconds, injectSeconds, cpuMsPerItem, maxRssMb: process.resourceUsage().maxRSS / 1024, accepted: stats.accepted })}\n`,
);
