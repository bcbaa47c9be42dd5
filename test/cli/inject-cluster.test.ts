/**
 * `seapo inject` at cluster scale, against real HTTP servers on 127.0.0.1: several endpoints with
 * weights, failover when one dies or returns 500s, the start-up model check, resuming on another
 * endpoint set after SIGKILL, --retry-rejects after a server fix, and the batch-file round trip.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chatCompletion, startTestServer, type Handler, type TestServer } from "../helpers/openai-server.js";
import { injectorReply } from "../helpers/scripted-injector.js";
import { readJsonl, runCli, startCli } from "../helpers/cli.js";
import { toJsonLines } from "../../src/io/index.js";

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const tmp = () => mkdtempSync(join(tmpdir(), "seapo-cluster-"));

function writeRows(dir: string, count: number): string {
  const path = join(dir, "rows.jsonl");
  const rows = Array.from({ length: count }, (_, i) => ({
    id: `q${i}`,
    prompt: `What is ${i} plus ${i}?`,
    response: `Adding ${i} and ${i} gives ${2 * i}, because doubling a number adds it to itself.`,
  }));
  writeFileSync(path, toJsonLines(rows));
  return path;
}

async function serve(handler: Handler, models = ["m"]): Promise<TestServer> {
  const server = await startTestServer(handler, { models });
  servers.push(server);
  return server;
}

const slow =
  (ms: number): Handler =>
  (request) => ({ delayMs: ms, ...injectorReply(request) });

function endpointsFile(dir: string, entries: Array<{ server: TestServer; weight?: number }>): string {
  const path = join(dir, `endpoints-${Math.random().toString(36).slice(2)}.yaml`);
  const lines = entries.flatMap(({ server, weight }) => [
    `  - url: ${server.baseURL}`,
    ...(weight ? [`    weight: ${weight}`] : []),
  ]);
  writeFileSync(path, `endpoints:\n${lines.join("\n")}\n`);
  return path;
}

function jobKeys(out: string): string[] {
  const negatives = readJsonl(join(out, "negatives.jsonl")).map((n) => `${n.sourceId}/${n.errorType}`);
  const rejects = existsSync(join(out, "rejects.jsonl"))
    ? readJsonl(join(out, "rejects.jsonl")).map((r) => `${r.sourceId}/${r.errorType}`)
    : [];
  return [...negatives, ...rejects];
}

const inject = (args: string[]) => runCli(["inject", "--model", "m", "--max-retries", "8", ...args]);

describe("seapo inject on several endpoints", () => {
  it("spreads requests by weight (fewest in flight relative to weight)", async () => {
    const dir = tmp();
    const [a, b, c] = [await serve(slow(20)), await serve(slow(20)), await serve(slow(20))];
    const file = endpointsFile(dir, [{ server: a! }, { server: b! }, { server: c!, weight: 2 }]);
    const out = join(dir, "out");
    const args = ["--endpoints", file, "--input", writeRows(dir, 80), "--out", out, "--strategy", "single:logic"];
    const result = await inject([...args, "--concurrency", "8"]);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    expect(jobKeys(out)).toHaveLength(80);
    const counts = [a!, b!, c!].map((server) => server.requests.length);
    expect(counts.reduce((x, y) => x + y)).toBe(80);
    // In flight 2 : 2 : 4 at equal latency gives 20 : 20 : 40.
    expect(Math.abs(counts[2]! - 40)).toBeLessThanOrEqual(6);
    expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(6);
    const stats = JSON.parse(readFileSync(join(out, "stats.json"), "utf8"));
    expect(stats.endpoints.injector.map((e: { requests: number }) => e.requests)).toEqual(counts);
    expect(stats.endpoints.injector[2]).toMatchObject({ url: c!.baseURL, weight: 2, errors: 0 });
    expect(stats.endpoints.injector[2].latencyMs.p50).toBeGreaterThanOrEqual(20);
    expect(result.stdout).toContain(`injector ${c!.baseURL} (weight 2): ${counts[2]} requests, 0 errors`);
  });

  it("finishes every job exactly once when one server dies mid-run and another returns 500s for a while", async () => {
    const dir = tmp();
    const healthy = [await serve(slow(100)), await serve(slow(100))];
    const dying: { server?: TestServer } = {};
    const dies = await serve(async (request) => {
      if (request.count === 15) setTimeout(() => void dying.server!.close(), 0);
      return { delayMs: 100, ...injectorReply(request) };
    });
    dying.server = dies;
    servers.splice(servers.indexOf(dies), 1); // closed by its own handler
    const flaky = await serve((request) =>
      request.count <= 4 ? { status: 500, json: { error: { message: "warming up" } } } : slow(100)(request),
    );
    const file = endpointsFile(
      dir,
      [...healthy, dies, flaky].map((server) => ({ server })),
    );
    const out = join(dir, "out");
    const args = ["--endpoints", file, "--input", writeRows(dir, 40), "--out", out, "--strategy", "all"];
    const result = await inject([...args, "--concurrency", "8"]);
    expect(result.code).toBe(0);
    const keys = jobKeys(out);
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
    expect(existsSync(join(out, "rejects.jsonl")) ? readJsonl(join(out, "rejects.jsonl")) : []).toEqual([]);
    const [, , died, warmed] = JSON.parse(readFileSync(join(out, "stats.json"), "utf8")).endpoints.injector;
    expect(died.cooldowns).toBeGreaterThanOrEqual(1);
    expect(warmed.errors).toBe(4);
    expect(warmed.cooldowns).toBe(1); // three 500s in a row take it out for a second
    expect(flaky.requests.length).toBeGreaterThan(4); // it rejoined once its cool-down ended
    expect(result.stderr).toContain(`${dies.baseURL} taken out`);
  });

  it("refuses at start an endpoint that serves another model", async () => {
    const dir = tmp();
    const right = await serve(injectorReply);
    const wrong = await serve(injectorReply, ["other-model"]);
    const file = endpointsFile(dir, [{ server: right }, { server: wrong }]);
    const out = join(dir, "out");
    const result = await inject(["--endpoints", file, "--input", writeRows(dir, 2), "--out", out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:${wrong.baseURL}: serves other-model, not the declared "m"`);
    expect(right.requests.length + wrong.requests.length).toBe(0);
  });

  it("resumes after SIGKILL on a different set of endpoints, every job once", async () => {
    const dir = tmp();
    const first = [await serve(slow(15)), await serve(slow(15))];
    const input = writeRows(dir, 40);
    const out = join(dir, "out");
    const common = [
      "inject",
      "--model",
      "m",
      "--input",
      input,
      "--out",
      out,
      "--strategy",
      "all",
      "--concurrency",
      "4",
    ];
    const urls = (list: TestServer[]) => list.flatMap((server) => ["--base-url", server.baseURL]);
    const { child, done } = startCli([...common, ...urls(first)]);
    const negatives = join(out, "negatives.jsonl");
    while (!existsSync(negatives) || readFileSync(negatives, "utf8").split("\n").length < 30) {
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGKILL");
    await done;
    const second = [await serve(slow(5)), await serve(slow(5)), await serve(slow(5))];
    const finished = await runCli([...common, ...urls(second)]);
    expect(finished.code).toBe(0);
    const keys = jobKeys(out);
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
    const resumedRequests = second.reduce((sum, server) => sum + server.requests.length, 0);
    // The request cache and journals are the same whichever endpoints answered: only the rest is sent.
    expect(resumedRequests).toBeLessThanOrEqual(120 - 29 + 8);
    expect(second.every((server) => server.requests.length > 0)).toBe(true);
    expect(readJsonl(join(out, "kto.jsonl")).filter((r) => r.label === true)).toHaveLength(40);
  });
});

describe("seapo inject --retry-rejects", () => {
  it("sends the refused jobs again after the server is fixed, losing and repeating nothing", async () => {
    const dir = tmp();
    let fixed = false;
    const server = await serve((request) => {
      const text: string = request.body.messages.at(-1).content;
      if (!fixed && /Adding [37] and/.test(text))
        return { status: 400, json: { error: { message: "context too small" } } };
      return injectorReply(request);
    });
    const input = writeRows(dir, 10);
    const out = join(dir, "out");
    const args = ["--base-url", server.baseURL, "--input", input, "--out", out, "--strategy", "mixed"];
    expect((await inject(args)).code).toBe(0);
    expect(readJsonl(join(out, "rejects.jsonl")).map((r) => `${r.sourceId}/${r.reason}`)).toEqual([
      "q3/provider-error",
      "q3/provider-error",
      "q3/provider-error",
      "q7/provider-error",
      "q7/provider-error",
      "q7/provider-error",
    ]);
    const dpoBefore = readJsonl(join(out, "dpo.jsonl"));
    expect(dpoBefore).toHaveLength(8);

    fixed = true;
    const sent = server.requests.length;
    const again = await inject([...args, "--retry-rejects", "provider-error,truncated"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("provider-error 6 rejects moved back to pending");
    expect(server.requests.length - sent).toBe(6);
    expect(existsSync(join(out, "rejects.jsonl")) ? readJsonl(join(out, "rejects.jsonl")) : []).toEqual([]);
    const keys = jobKeys(out);
    expect(keys).toHaveLength(30);
    expect(new Set(keys).size).toBe(30);
    // The journals are put back in input order, so mixed exports one per prompt, in the input's order,
    // and the same as before for the rest.
    const dpoAfter = readJsonl(join(out, "dpo.jsonl"));
    expect(dpoAfter.map((row) => (row.seapo as { sourceId: string }).sourceId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `q${i}`),
    );
    expect(dpoAfter.filter((row) => !["q3", "q7"].includes((row.seapo as { sourceId: string }).sourceId))).toEqual(
      dpoBefore,
    );

    const third = await inject([...args, "--retry-rejects", "provider-error"]);
    expect(third.stdout).toContain("0 requests this run, 30 already done");
  });

  it("puts retried jobs where an uninterrupted run has them: journals and exports equal byte for byte", async () => {
    const dir = tmp();
    let fixed = false;
    // Before the fix: q3 refused for every type, q5 for its first type, q7 for its last. After it,
    // q3's hallucination comes back truncated, so a retried job also lands in rejects.jsonl; q1's
    // logic rewrite leaks meta-text either way, a reject that stays where it was.
    const server = await serve((request) => {
      const text: string = request.body.messages.at(-1).content;
      const type = /Error type: (\S+)/.exec(text)?.[1];
      const refused = /Adding 3 and/.test(text) || (/Adding 5 and/.test(text) && type === "correctness");
      if (!fixed && (refused || (/Adding 7 and/.test(text) && type === "hallucination")))
        return { status: 400, json: { error: { message: "context too small" } } };
      if (/Adding 3 and/.test(text) && type === "hallucination")
        return { json: chatCompletion("Adding 3 and 3", { finishReason: "length" }) };
      if (/Adding 1 and/.test(text) && type === "logic") return { json: chatCompletion("I introduced an error here.") };
      return injectorReply(request);
    });
    const input = writeRows(dir, 10);
    const run = (out: string, extra: string[] = []) =>
      inject(["--base-url", server.baseURL, "--input", input, "--out", out, "--strategy", "all", ...extra]);
    const retried = join(dir, "retried");
    expect((await run(retried)).code).toBe(0);
    expect(readJsonl(join(retried, "rejects.jsonl")).filter((r) => r.reason === "provider-error")).toHaveLength(5);
    fixed = true;
    expect((await run(retried, ["--retry-rejects", "provider-error"])).code).toBe(0);
    const straight = join(dir, "straight");
    expect((await run(straight)).code).toBe(0);

    const files = ["negatives.jsonl", "rejects.jsonl", "dpo.jsonl", "dpo_conversational.jsonl", "dpo_multi.jsonl"];
    files.push("kto.jsonl", "kto_conversational.jsonl", "llamafactory/seapo_dpo.jsonl", "llamafactory/seapo_kto.jsonl");
    for (const file of files) {
      expect(readFileSync(join(retried, file), "utf8"), file).toBe(readFileSync(join(straight, file), "utf8"));
    }
    const rejects = readJsonl(join(retried, "rejects.jsonl")).map((r) => `${r.sourceId}/${r.errorType}/${r.reason}`);
    expect(rejects).toEqual(["q1/logic/meta-text", "q3/hallucination/truncated"]);
    expect(readJsonl(join(retried, "negatives.jsonl")).map((n) => n.sourceId)).toEqual(
      Array.from({ length: 10 }, (_, i) => Array(i === 1 || i === 3 ? 2 : 3).fill(`q${i}`)).flat(),
    );
  });

  it("a retrying run killed midway resumes without the flag, every job once", async () => {
    const dir = tmp();
    let fixed = false;
    const server = await serve((request) => {
      const text: string = request.body.messages.at(-1).content;
      if (!fixed && /Adding [37] and/.test(text))
        return { status: 400, json: { error: { message: "context too small" } } };
      return { delayMs: fixed ? 150 : 0, ...injectorReply(request) };
    });
    const out = join(dir, "out");
    const base = ["inject", "--model", "m", "--base-url", server.baseURL, "--input", writeRows(dir, 10), "--out", out];
    const args = [...base, "--strategy", "mixed", "--concurrency", "1"];
    expect((await runCli(args)).code).toBe(0);
    fixed = true;
    const { child, done } = startCli([...args, "--retry-rejects", "provider-error"]);
    const negatives = join(out, "negatives.jsonl");
    while (readFileSync(negatives, "utf8").trim().split("\n").length < 26) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGKILL");
    await done;
    expect(existsSync(join(out, "rejects.jsonl")) ? readJsonl(join(out, "rejects.jsonl")) : []).toEqual([]);
    expect((await runCli(args)).code).toBe(0);
    const keys = jobKeys(out);
    expect(keys).toHaveLength(30);
    expect(new Set(keys).size).toBe(30);
    expect(readJsonl(join(out, "dpo.jsonl"))).toHaveLength(10);
  });

  it("refuses a reason that does not exist, naming the flag", async () => {
    const dir = tmp();
    const server = await serve(injectorReply);
    const result = await inject([
      "--base-url",
      server.baseURL,
      "--input",
      writeRows(dir, 1),
      "--out",
      join(dir, "out"),
      "--retry-rejects",
      "timeout",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--retry-rejects");
  });
});

describe("seapo inject with batch files", () => {
  const runner = new URL("../llm/generators/vllm_batch_runner.py", import.meta.url).pathname;

  it("writes the pending requests, then takes shuffled partial results and leaves the missing one pending", async () => {
    const dir = tmp();
    const input = writeRows(dir, 6);
    const out = join(dir, "out");
    const batchDir = join(dir, "batch");
    const args = ["--input", input, "--out", out, "--strategy", "single:correctness"];
    const written = await inject([...args, "--batch-out", batchDir]);
    expect(written.stderr).not.toMatch(/Error/);
    expect(written.code).toBe(0);
    expect(readdirSync(batchDir)).toEqual(["m-00001.jsonl"]);
    const requests = readJsonl(join(batchDir, "m-00001.jsonl"));
    expect(requests).toHaveLength(6);
    expect(requests[0]).toMatchObject({ method: "POST", url: "/v1/chat/completions", body: { model: "m" } });
    expect(requests[0]!.custom_id).toMatch(/^[0-9a-f]{64}$/);
    expect(written.stdout).toContain("6 jobs pending");
    expect(existsSync(join(out, "negatives.jsonl")) ? readJsonl(join(out, "negatives.jsonl")) : []).toEqual([]);

    // The stand-in for `vllm run-batch` answers; the results come back shuffled, in two chunks, one missing.
    const answered = join(dir, "answered.jsonl");
    execFileSync("/usr/bin/python3", [runner, join(batchDir, "m-00001.jsonl"), answered]);
    const lines = readFileSync(answered, "utf8").trim().split("\n");
    const missing = lines[2]!;
    const shuffled = [lines[5], lines[0], lines[4], lines[1], lines[3]] as string[];
    writeFileSync(join(dir, "part-b.jsonl"), `${shuffled.slice(0, 2).join("\n")}\n`);
    writeFileSync(join(dir, "part-a.jsonl"), `${shuffled.slice(2).join("\n")}\n`);
    const partial = await inject([...args, "--batch-in", join(dir, "part-a.jsonl"), join(dir, "part-b.jsonl")]);
    expect(partial.code).toBe(0);
    expect(readJsonl(join(out, "negatives.jsonl")).map((n) => n.sourceId)).toEqual(["q0", "q1", "q3", "q4", "q5"]);
    expect(partial.stdout).toContain(
      "batch: 5 results used · 0 failed and 1 missing requests left pending · 1 jobs pending",
    );
    expect(JSON.parse(readFileSync(join(out, "stats.json"), "utf8")).pendingJobs).toBe(1);

    writeFileSync(join(dir, "part-c.jsonl"), `${missing}\n`);
    const rest = await inject([...args, "--batch-in", join(dir, "part-c.jsonl")]);
    expect(rest.code).toBe(0);
    const negatives = readJsonl(join(out, "negatives.jsonl"));
    // The late result takes its row's place in input order.
    expect(negatives.map((n) => n.sourceId)).toEqual(["q0", "q1", "q2", "q3", "q4", "q5"]);
    expect(negatives[2]).toMatchObject({
      rejected: "Adding 9 and 2 gives 4, because doubling a number adds it to itself.",
    });
    expect(readJsonl(join(out, "dpo.jsonl"))).toHaveLength(6);
    expect(JSON.parse(readFileSync(join(out, "stats.json"), "utf8")).pendingJobs).toBe(0);
  });

  it("a result that matches no pending request is an error naming its file and line", async () => {
    const dir = tmp();
    const input = writeRows(dir, 2);
    const out = join(dir, "out");
    const stray = join(dir, "stray.jsonl");
    const result = { id: "x", custom_id: "f".repeat(64), response: { status_code: 200, body: {} }, error: null };
    writeFileSync(stray, `\n${JSON.stringify(result)}\n`);
    const run = await inject(["--input", input, "--out", out, "--strategy", "single:logic", "--batch-in", stray]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${stray}:2:custom_id: no pending request of this run has custom_id ${"f".repeat(64)}`,
    );
  });

  it("splits request files at the line limit", async () => {
    const { BatchWriter } = await import("../../src/llm/batch-file.js");
    const dir = tmp();
    const writer = new BatchWriter(dir, "m", { maxRequests: 2, maxBytes: 2 * 1024 * 1024 });
    for (const id of ["a", "b", "c", "a", "d", "e"])
      writer.add({ custom_id: id, method: "POST", url: "/v1/chat/completions", body: {} });
    writer.close();
    expect(readdirSync(dir)).toEqual(["m-00001.jsonl", "m-00002.jsonl", "m-00003.jsonl"]);
    expect(readJsonl(join(dir, "m-00003.jsonl")).map((line) => line.custom_id)).toEqual(["e"]);
  });
});
