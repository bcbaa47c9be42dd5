/** `seapo analyze` on two endpoints and through batch files (real servers on 127.0.0.1, real files). */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chatCompletion, startTestServer, type ServerReply, type TestServer } from "../helpers/openai-server.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { toJsonLines } from "../../src/io/index.js";

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const planted = ["correct", "logic", "logic", "correctness", "hallucination", "correct"];

function writeAnswers(dir: string): string {
  const path = join(dir, "answers.jsonl");
  const rows = planted.map((kind, i) => ({
    id: `a${i}`,
    prompt: `Question ${i}`,
    response: `answer marked ${kind}`,
    reference: `gold ${i}`,
  }));
  writeFileSync(path, toJsonLines(rows));
  return path;
}

/** The scripted judge's reply: the verdict planted in the answer. */
function verdict(text: string): string {
  const kind = /answer marked (\w+)/.exec(text)![1]!;
  const grade = kind === "correct" ? { correct: true, error_type: "none" } : { correct: false, error_type: kind };
  return JSON.stringify({ ...grade, explanation: "scripted" });
}

const judgeReply = (request: { body: { messages: Array<{ content: string }> } }): ServerReply => ({
  delayMs: 10,
  json: chatCompletion(verdict(request.body.messages.at(-1)!.content)),
});

describe("seapo analyze at cluster scale", () => {
  it("spreads the judge's requests over two --base-url servers and reports each", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-analyze-cluster-"));
    for (let i = 0; i < 2; i++) servers.push(await startTestServer(judgeReply, { models: ["judge-m"] }));
    const out = join(dir, "out");
    const urls = servers.flatMap((server) => ["--base-url", server.baseURL]);
    const result = await runCli(["analyze", "--input", writeAnswers(dir), "--out", out, "--model", "judge-m", ...urls]);
    expect(result.code).toBe(0);
    expect(servers.map((server) => server.requests.length > 0)).toEqual([true, true]);
    expect(servers[0]!.requests.length + servers[1]!.requests.length).toBe(6);
    expect(JSON.parse(readFileSync(join(out, "analysis.json"), "utf8")).counts).toEqual({
      correctness: 1,
      logic: 2,
      hallucination: 1,
    });
    expect(result.stdout).toContain(`judge ${servers[1]!.baseURL} (weight 1): ${servers[1]!.requests.length} requests`);
  });

  it("writes JSON-schema judge requests as batch lines and grades from their results", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-analyze-batch-"));
    const input = writeAnswers(dir);
    const out = join(dir, "out");
    const batchDir = join(dir, "batch");
    const first = await runCli([
      "analyze",
      "--input",
      input,
      "--out",
      out,
      "--model",
      "judge-m",
      "--batch-out",
      batchDir,
    ]);
    expect(first.code).toBe(0);
    expect(readdirSync(batchDir)).toEqual(["judge-m-00001.jsonl"]);
    const requests = readJsonl<{ custom_id: string; body: { messages: Array<{ content: string }> } }>(
      join(batchDir, "judge-m-00001.jsonl"),
    );
    expect(requests).toHaveLength(6);
    expect(requests[0]!.body).toMatchObject({ model: "judge-m", response_format: { type: "json_schema" } });
    const results = requests.map((request, i) => ({
      id: `r${i}`,
      custom_id: request.custom_id,
      response: {
        status_code: 200,
        request_id: `q${i}`,
        body: chatCompletion(verdict(request.body.messages.at(-1)!.content)),
      },
      error: null,
    }));
    // One request failed at the batch runner: it stays pending.
    results[4] = {
      ...results[4]!,
      response: { status_code: 500, request_id: "q4", body: undefined as never },
      error: null,
    };
    writeFileSync(join(dir, "results.jsonl"), toJsonLines(results.reverse()));
    const second = await runCli([
      "analyze",
      "--input",
      input,
      "--out",
      out,
      "--model",
      "judge-m",
      "--batch-in",
      join(dir, "results.jsonl"),
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      "batch: 5 results used · 1 failed and 0 missing requests left pending · 1 jobs pending",
    );
    expect(readJsonl(join(out, "judgments.jsonl")).map((j) => j.sourceId)).toEqual(["a0", "a1", "a2", "a3", "a5"]);
  });
});
