import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveDataDir, TASK_NAMES } from "../../src/eval/index.js";
import { runCli } from "../helpers/cli.js";
import { startTestServer, type ServerRequest, type TestServer } from "../helpers/openai-server.js";

// Every task, on the real data in ../shared/data, with --limit: once on the in-process engine
// with a model `seapo model init` writes, once through a real OpenAI-compatible HTTP server.
const dataDir = resolveDataDir();
const tasks = TASK_NAMES.join(",");

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function expectEveryTaskScored(resultsPath: string) {
  const file = JSON.parse(readFileSync(resultsPath, "utf8")) as {
    results: Record<string, { metrics: Record<string, { value: number }> }>;
  };
  expect(Object.keys(file.results).sort()).toEqual([...TASK_NAMES].sort());
  for (const name of TASK_NAMES) {
    const metrics = Object.values(file.results[name]!.metrics);
    expect(metrics.length, name).toBeGreaterThan(0);
    for (const metric of metrics) {
      expect(metric.value, name).toBeGreaterThanOrEqual(0);
      expect(metric.value, name).toBeLessThanOrEqual(1);
    }
  }
  return file;
}

describe("seapo eval: every task", () => {
  it("runs on the in-process engine with a `seapo model init` model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-eval-engine-"));
    const model = join(dir, "model");
    expect((await runCli(["model", "init", "--arch", "llama", "--preset", "tiny", "--out", model])).code).toBe(0);
    const out = join(dir, "results.json");
    const args = [
      "eval",
      "--tasks",
      tasks,
      "--limit",
      "1",
      "--max-gen-tokens",
      "16",
      "--hf",
      model,
      "--data-dir",
      dataDir,
      "--out",
      out,
    ];
    const result = await runCli(args);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);
    const file = expectEveryTaskScored(out) as unknown as { model: { kind: string; sha256: string } };
    expect(file.model.kind).toBe("hf");
    expect(file.model.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 180_000);

  it("runs through an OpenAI-compatible HTTP server", async () => {
    server = await startTestServer(scriptedCompletions);
    const dir = mkdtempSync(join(tmpdir(), "seapo-eval-http-"));
    const out = join(dir, "results.json");
    const args = [
      "eval",
      "--tasks",
      tasks,
      "--limit",
      "1",
      "--base-url",
      server.baseURL,
      "--model",
      "m",
      "--data-dir",
      dataDir,
      "--out",
      out,
    ];
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expectEveryTaskScored(out);
    const paths = new Set(server.requests.map((r) => r.path));
    expect(paths).toEqual(new Set(["/v1/completions"]));
    expect(server.requests.some((r) => r.body.echo === true)).toBe(true);
    expect(server.requests.some((r) => !r.body.echo)).toBe(true);
  }, 180_000);
});

/**
 * A server whose "tokens" are single characters with log-probs drawn from a hash of the text so
 * far, so every answer gets a different, repeatable score; generation answers in the form the
 * extractors look for.
 */
function scriptedCompletions(request: ServerRequest) {
  const prompt: string = request.body.prompt;
  const base = {
    id: "c",
    object: "text_completion",
    created: 0,
    model: "m",
    usage: { prompt_tokens: prompt.length, completion_tokens: 1, total_tokens: prompt.length + 1 },
  };
  if (request.body.echo) {
    const chars = [...prompt, "!"];
    let offset = 0;
    const offsets = chars.map((c) => ((offset += c.length), offset - c.length));
    const lps = chars.map((_, i) =>
      i === 0
        ? null
        : -0.1 -
          (parseInt(
            createHash("sha1")
              .update(prompt.slice(0, i + 1))
              .digest("hex")
              .slice(0, 6),
            16,
          ) %
            500) /
            100,
    );
    const logprobs = {
      tokens: chars,
      token_logprobs: lps,
      text_offset: offsets,
      top_logprobs: chars.map((c, i) => (i === 0 ? null : { [c]: lps[i]! })),
    };
    return { json: { ...base, choices: [{ index: 0, text: `${prompt}!`, logprobs, finish_reason: "length" }] } };
  }
  const text = " Let me work it out. The answer is 42.\n    return 0\n";
  return { json: { ...base, choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }] } };
}
