/**
 * `seapo eval` at cluster scale through the built CLI, against real HTTP servers on 127.0.0.1 and
 * the real data of ../shared/data: the batch-file round trip for the generation tasks (both
 * harnesses), results in shuffled, partial chunks with one missing and one failed, the cache a
 * live re-run reads, the unknown-custom_id error, and several endpoints with their counts.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveDataDir } from "../../src/eval/index.js";
import { answerBatchFile } from "../helpers/batch-runner.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { echoCompletions } from "../helpers/echo-server.js";
import { startTestServer, type ServerRequest, type TestServer } from "../helpers/openai-server.js";

const dataDir = resolveDataDir();
const humaneval0 = JSON.parse(readFileSync(join(dataDir, "humaneval/HumanEval.jsonl"), "utf8").split("\n")[0]!) as {
  prompt: string;
  canonical_solution: string;
};

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const tmp = () => mkdtempSync(join(tmpdir(), "seapo-eval-cluster-"));

/**
 * Legacy completions: echo requests are scored as echo-server.ts does; HumanEval/0 gets its
 * canonical solution on even seeds and a wrong body on odd ones; every other prompt "answers 18"
 * (right for the first GSM8K test question only).
 */
function scripted(request: ServerRequest) {
  if (request.path !== "/v1/completions") return { status: 404, json: { error: { message: "no such route" } } };
  if (request.body.echo) return echoCompletions(request);
  const prompt: string = request.body.prompt;
  const text =
    prompt === humaneval0.prompt
      ? request.body.seed % 2 === 0
        ? humaneval0.canonical_solution
        : "    return []\n"
      : " She has 16 - 3 - 4 = 9 eggs, and 9 * 2 = 18. The answer is 18.\n\nQ: next\n\nProblem:\nmore";
  const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };
  return {
    json: {
      id: "c",
      object: "text_completion",
      created: 0,
      model: "m",
      choices: [{ index: 0, text, finish_reason: "stop" }],
      usage,
    },
  };
}

async function serve(models = ["m"]): Promise<TestServer> {
  const server = await startTestServer(scripted, { models });
  servers.push(server);
  return server;
}

const evalCli = (args: string[]) =>
  runCli(["eval", "--data-dir", dataDir, "--model", "m", "--python", "/usr/bin/python3", ...args]);

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

/** The request a live run sent for a batch line, by its prompt and seed. */
function liveTwin(live: ServerRequest[], body: { prompt: string; seed?: number }): ServerRequest {
  const twins = live.filter((r) => r.body.prompt === body.prompt && r.body.seed === body.seed);
  expect(twins).toHaveLength(1);
  return twins[0]!;
}

describe("seapo eval with batch files", () => {
  it("writes generation requests byte for byte as sent live, takes shuffled partial results, and scores as the live run", async () => {
    const dir = tmp();
    const server = await serve();
    const tasks = ["--tasks", "gsm8k_cot,minerva_math500,humaneval,truthfulqa_mc1", "--limit", "1"];
    const live = await evalCli([...tasks, "--base-url", server.baseURL, "--out", join(dir, "live", "results.json")]);
    expect(live.stderr).not.toMatch(/Error/);
    expect(live.code).toBe(0);
    const liveResults = readJson(join(dir, "live", "results.json"));
    const liveRequests = server.requests.filter((r) => !r.body.echo);
    expect(liveRequests).toHaveLength(1 + 1 + 20);
    const scoring = server.requests.length - liveRequests.length; // TruthfulQA's choices, one request each

    // Step 1: the pending generations as batch lines; the log-likelihood task is skipped and said so.
    const out = join(dir, "batch", "results.json");
    const batchDir = join(dir, "requests");
    const written = await evalCli([...tasks, "--batch-out", batchDir, "--out", out]);
    expect(written.stderr).not.toMatch(/Error/);
    expect(written.code).toBe(0);
    expect(readdirSync(batchDir)).toEqual(["m-00001.jsonl"]);
    const lines = readFileSync(join(batchDir, "m-00001.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(22);
    for (const text of lines) {
      const line = JSON.parse(text);
      expect(line).toMatchObject({ method: "POST", url: "/v1/completions" });
      expect(line.custom_id).toMatch(/^[0-9a-f]{64}$/);
      // The body is the live request's, byte for byte.
      expect(JSON.stringify(line.body)).toBe(liveTwin(liveRequests, line.body).text);
    }
    expect(new Set(lines.map((l) => JSON.parse(l).custom_id)).size).toBe(22);
    expect(written.stdout).toContain("pending: gsm8k_cot not scored: 1 of 1 examples wait for 1 batch results");
    expect(written.stdout).toContain("pending: humaneval not scored: 1 of 1 examples wait for 20 batch results");
    expect(written.stdout).toContain(
      `skipped: truthfulqa_mc1 (${scoring} log-likelihood requests) not run: batch files carry generation requests only`,
    );
    expect(written.stdout).toContain(`batch: 0 results used · 22 requests pending in 3 tasks · wrote 22 requests to`);
    expect(written.stdout).toContain("requests: 22 (cache: 0 hits, 22 from or to batch files)");
    const pendingFile = readJson(out);
    expect(pendingFile.results).toEqual({});
    expect(pendingFile.pending).toMatchObject({
      requests: 22,
      tasks: {
        gsm8k_cot: { examples: 1, of: 1, requests: 1 },
        minerva_math500: { examples: 1, of: 1, requests: 1 },
        humaneval: { examples: 1, of: 1, requests: 20 },
      },
      skipped: { truthfulqa_mc1: { requests: scoring } },
    });

    // A batch service answers; the results come back shuffled in two chunks, GSM8K's missing and
    // one HumanEval sample failed.
    const sent = server.requests.length;
    const answered = await answerBatchFile(join(batchDir, "m-00001.jsonl"), server.url);
    const prompt = (line: string) => requestOf(line, lines).body.prompt as string;
    const missing = answered.find((l) => prompt(l).startsWith("Q: There are 15 trees"))!;
    const failedOk = answered.find((l) => requestOf(l, lines).body.seed === 3)!;
    const failed = JSON.stringify({
      ...JSON.parse(failedOk),
      response: { status_code: 500, request_id: "r", body: { error: { message: "overloaded" } } },
      error: { code: "server_error", message: "overloaded" },
    });
    const rest = shuffled(answered.filter((l) => l !== missing && l !== failedOk).concat(failed));
    expect(rest.map((l) => JSON.parse(l).custom_id)).not.toEqual(
      answered.filter((l) => l !== missing).map((l) => JSON.parse(l).custom_id),
    );
    writeFileSync(join(dir, "part-b.jsonl"), `${rest.slice(0, 11).join("\n")}\n`);
    writeFileSync(join(dir, "part-a.jsonl"), `${rest.slice(11).join("\n")}\n`);
    const partial = await evalCli([
      ...tasks,
      "--batch-in",
      join(dir, "part-b.jsonl"),
      join(dir, "part-a.jsonl"),
      "--out",
      out,
    ]);
    expect(partial.stderr).not.toMatch(/Error/);
    expect(partial.code).toBe(0);
    expect(partial.stdout).toContain("pending: gsm8k_cot not scored: 1 of 1 examples wait for 1 batch results");
    expect(partial.stdout).toContain("pending: humaneval not scored: 1 of 1 examples wait for 1 batch results");
    expect(partial.stdout).toContain(
      "batch: 20 results used · 1 failed and 1 missing requests left pending · 2 requests pending in 2 tasks",
    );
    const partialFile = readJson(out);
    expect(Object.keys(partialFile.results)).toEqual(["minerva_math500"]);
    expect(partialFile.results.minerva_math500).toEqual(liveResults.results.minerva_math500);
    expect(partialFile.pending.tasks).toEqual({
      gsm8k_cot: { examples: 1, of: 1, requests: 1 },
      humaneval: { examples: 1, of: 1, requests: 1 },
    });
    expect(partialFile.batch).toMatchObject({ used: 20, failed: 1, missing: 1, written: 0 });

    // The missing result and a good one for the failed request: every generation task is scored, as live.
    writeFileSync(join(dir, "part-c.jsonl"), `${failedOk}\n${missing}\n`);
    const last = await evalCli([...tasks, "--batch-in", join(dir, "part-c.jsonl"), "--out", out, "--log-samples"]);
    expect(last.code).toBe(0);
    const done = readJson(out);
    for (const task of ["gsm8k_cot", "minerva_math500", "humaneval"])
      expect(done.results[task]).toEqual(liveResults.results[task]);
    expect(done.results.gsm8k_cot.metrics["exact_match,strict-match"].value).toBe(1);
    expect(done.results.humaneval.metrics["pass@1"].value).toBeCloseTo(0.5, 12);
    expect(done.pending).toEqual({ requests: 0, tasks: {}, skipped: { truthfulqa_mc1: expect.anything() } });
    expect(done.requests).toMatchObject({ total: 22, cacheHits: 20, cacheMisses: 2 });
    expect(readJsonl(join(dir, "batch", "results.samples.jsonl"))).toHaveLength(3);
    expect(server.requests.length).toBe(sent + 22); // only the stand-in batch service's own calls

    // A live re-run into the same cache sends only the log-likelihood requests and scores the same.
    const liveTasks = ["--tasks", "gsm8k_cot,minerva_math500,truthfulqa_mc1", "--limit", "1"];
    const again = await evalCli([...liveTasks, "--base-url", server.baseURL, "--out", join(dir, "batch", "live.json")]);
    expect(again.code).toBe(0);
    expect(server.requests.slice(sent + 22).every((r) => r.body.echo === true)).toBe(true);
    const rerun = readJson(join(dir, "batch", "live.json"));
    for (const task of ["gsm8k_cot", "minerva_math500", "truthfulqa_mc1"])
      expect(rerun.results[task]).toEqual(liveResults.results[task]);
    expect(rerun.requests).toMatchObject({ cacheHits: 2, cacheMisses: scoring });
  }, 60_000);
  it("the seapo-paper harness writes its own generation requests, as sent live", async () => {
    const dir = tmp();
    const server = await serve();
    const tasks = ["--harness", "seapo-paper", "--tasks", "gsm8k_cot,minerva_math500", "--limit", "2"];
    const live = await evalCli([...tasks, "--base-url", server.baseURL, "--out", join(dir, "live.json")]);
    expect(live.code).toBe(0);
    const batchDir = join(dir, "requests");
    const out = join(dir, "batch", "results.json");
    expect((await evalCli([...tasks, "--batch-out", batchDir, "--out", out])).code).toBe(0);
    const lines = readJsonl<{ url: string; body: { prompt: string; seed?: number } }>(join(batchDir, "m-00001.jsonl"));
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(JSON.stringify(line.body)).toBe(liveTwin(server.requests, line.body).text);
    const answers = await answerBatchFile(join(batchDir, "m-00001.jsonl"), server.url);
    writeFileSync(join(dir, "results.jsonl"), `${answers.reverse().join("\n")}\n`);
    const scored = await evalCli([...tasks, "--batch-in", join(dir, "results.jsonl"), "--out", out]);
    expect(scored.code).toBe(0);
    expect(readJson(out).results).toEqual(readJson(join(dir, "live.json")).results);
    expect(readJson(out).harness).toBe("seapo-paper");
  }, 30_000);

  it("a result no pending request claims is an error naming its file and line", async () => {
    const dir = tmp();
    const stray = join(dir, "stray.jsonl");
    const result = { id: "x", custom_id: "e".repeat(64), response: { status_code: 200, body: {} }, error: null };
    writeFileSync(stray, `\n\n${JSON.stringify(result)}\n`);
    const run = await evalCli([
      "--tasks",
      "gsm8k_cot",
      "--limit",
      "1",
      "--batch-in",
      stray,
      "--out",
      join(dir, "r.json"),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${stray}:3:custom_id: no pending request of this run has custom_id ${"e".repeat(64)}`,
    );
  });

  it("--help documents the batch options", async () => {
    const help = (await runCli(["eval", "run", "--help"])).stdout.replace(/\s+/g, " ");
    expect(help).toContain("--batch-out <dir> generation tasks (GSM8K, MATH, BBH, HumanEval)");
    expect(help).toContain("log-likelihood tasks (MMLU, TruthfulQA, ARC) are skipped and counted");
    expect(help).toContain("--batch-in <files...> OpenAI Batch result files answering --batch-out's requests");
    expect(help).toContain("--endpoints <file>");
  });
});

describe("seapo eval on several endpoints", () => {
  it("spreads requests over an --endpoints file or repeated --base-url and reports each server's counts", async () => {
    const dir = tmp();
    const [a, b] = [await serve(), await serve()];
    const file = join(dir, "endpoints.yaml");
    writeFileSync(file, `endpoints:\n  - url: ${a!.baseURL}\n  - url: ${b!.baseURL}\n    weight: 3\n`);
    const tasks = ["--tasks", "gsm8k_cot,truthfulqa_mc1", "--limit", "8", "--concurrency", "4"];
    const run = await evalCli([...tasks, "--endpoints", file, "--out", join(dir, "pool", "results.json")]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const counts = [a!.requests.length, b!.requests.length];
    const total = readJson(join(dir, "pool", "results.json")).requests.total;
    expect(total).toBeGreaterThan(8); // 8 generations and every TruthfulQA choice
    expect(counts[0]! + counts[1]!).toBe(total);
    expect(counts.every((n) => n > 0)).toBe(true);
    const pool = readJson(join(dir, "pool", "results.json"));
    expect(pool.endpoints.map((e: { requests: number }) => e.requests)).toEqual(counts);
    expect(pool.endpoints[1]).toMatchObject({ url: b!.baseURL, weight: 3, errors: 0, model: "m" });
    expect(pool.model).toMatchObject({ kind: "openai-compatible", baseURL: `${a!.baseURL},${b!.baseURL}`, model: "m" });
    expect(run.stdout).toContain(`model ${b!.baseURL} (weight 3): ${counts[1]} requests, 0 errors`);

    const single = await serve();
    const one = await evalCli([...tasks, "--base-url", single.baseURL, "--out", join(dir, "one", "results.json")]);
    expect(readJson(join(dir, "one", "results.json")).results).toEqual(pool.results);
    expect(one.stdout).toContain(`model ${single.baseURL} (weight 1): ${total} requests, 0 errors`);
    const repeated = await evalCli([
      ...tasks,
      "--base-url",
      a!.baseURL,
      "--base-url",
      b!.baseURL,
      "--out",
      join(dir, "r", "results.json"),
    ]);
    expect(repeated.code).toBe(0);
    expect(readJson(join(dir, "r", "results.json")).endpoints.map((e: { url: string }) => e.url)).toEqual([
      a!.baseURL,
      b!.baseURL,
    ]);
  }, 60_000);
});

function requestOf(result: string, requests: string[]) {
  const id = JSON.parse(result).custom_id;
  return requests.map((r) => JSON.parse(r)).find((r) => r.custom_id === id);
}

/** Another order than the file's: sorted by custom_id, a hash. */
function shuffled(lines: string[]): string[] {
  const id = (line: string) => JSON.parse(line).custom_id as string;
  return [...lines].sort((x, y) => (id(x) < id(y) ? -1 : 1));
}
