import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerEvalCommand } from "../../src/cli/commands/eval.js";
import { echoCompletions } from "../helpers/echo-server.js";
import { startTestServer, type TestServer } from "../helpers/openai-server.js";
import { dataDir, jsonl } from "../eval/fixtures.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

const choices = (i: number) => [`Answer ${i} is right.`, `It is ${i + 1}.`, `No, ${i * 3} instead.`, "None of these."];
const truthfulqa = jsonl(
  Array.from({ length: 6 }, (_, i) => ({
    question: `Question number ${i}?`,
    mc1_targets: { choices: choices(i), labels: [1, 0, 0, 0] },
    mc2_targets: { choices: choices(i), labels: [1, 1, 0, 0] },
  })),
);

async function evalWith(batchSize: number) {
  server = await startTestServer(echoCompletions);
  const dir = mkdtempSync(join(tmpdir(), "seapo-batch-"));
  const out = join(dir, "results.json");
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  const program = new Command("seapo").exitOverride();
  registerEvalCommand(program);
  const args = ["--tasks", "truthfulqa", "--data-dir", dataDir({ "truthfulqa/mc_task_v0.jsonl": truthfulqa })];
  const model = ["--base-url", server.baseURL, "--model", "m", "--no-cache", "--batch-size", String(batchSize)];
  await program.parseAsync(["node", "seapo", "eval", ...args, ...model, "--log-samples", "--out", out]);
  vi.restoreAllMocks();
  const sent = server.requests.map((r) => (typeof r.body.prompt === "string" ? 1 : r.body.prompt.length));
  await server.close();
  server = undefined;
  const results = JSON.parse(readFileSync(out, "utf8"));
  const samples = readFileSync(`${out.replace(/\.json$/, "")}.samples.jsonl`, "utf8");
  return { results, samples, sent };
}

describe("seapo eval --batch-size", () => {
  it("sends batched prompts and writes the same scores and samples as one prompt per request", async () => {
    const one = await evalWith(1);
    const batched = await evalWith(8);
    // 6 questions × 4 choices × 2 tasks = 48 log-likelihood requests.
    expect(one.sent).toEqual(new Array(48).fill(1));
    expect(batched.sent.reduce((a, b) => a + b, 0)).toBe(48);
    expect(batched.sent.every((n) => n <= 8)).toBe(true);
    expect(batched.sent.length).toBeLessThanOrEqual(8);
    expect(batched.results.results).toEqual(one.results.results);
    expect(batched.results.config.batchSize).toBe(8);
    expect(batched.samples).toBe(one.samples);
    expect(one.results.results.truthfulqa_mc2.metrics.acc.value).not.toBe(
      one.results.results.truthfulqa_mc1.metrics.acc.value,
    );
  });
});
