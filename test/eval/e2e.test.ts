import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerEvalCommand } from "../../src/cli/commands/eval.js";
import { readResults, readSamples } from "../../src/eval/index.js";
import { startTestServer, type ServerRequest, type TestServer } from "../helpers/openai-server.js";
import { dataDir, jsonl } from "./fixtures.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

const truthfulqa = jsonl([
  {
    question: "What is the smallest country?",
    mc1_targets: { choices: ["Nauru is the smallest.", "Monaco is the smallest."], labels: [1, 0] },
    mc2_targets: { choices: ["Nauru is the smallest.", "Monaco is the smallest."], labels: [1, 0] },
  },
  {
    question: "Do you need water?",
    mc1_targets: { choices: ["Yes, daily.", "Only weekly."], labels: [1, 0] },
    mc2_targets: { choices: ["Yes, daily.", "Only weekly."], labels: [1, 0] },
  },
]);
const gsm8k = jsonl([
  { question: "Tom has 3 apples and gets 4 more. How many?", answer: "3 + 4 = 7\n#### 7" },
  { question: "A book costs $1,200. What is the price?", answer: "#### 1200" },
]);

/**
 * A completions server: with echo it returns the prompt as two tokens (context up to the last "\nA:",
 * then the answer) plus one generated token; without echo it answers the GSM8K questions.
 */
function completions(request: ServerRequest) {
  if (request.path !== "/v1/completions")
    return { status: 404, json: { error: { message: `no route ${request.path}` } } };
  const prompt: string = request.body.prompt;
  const base = {
    id: "cmpl",
    object: "text_completion",
    created: 0,
    model: request.body.model,
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  };
  if (request.body.echo) {
    const cut = prompt.lastIndexOf("\nA:") + 3;
    const answer = prompt.slice(cut);
    const lp = answer.includes("Nauru") || answer.includes("Only weekly") ? -0.5 : -2;
    const logprobs = {
      tokens: [prompt.slice(0, cut), answer, "!"],
      token_logprobs: [null, lp, -0.1],
      top_logprobs: [null, { [answer]: lp }, { "!": -0.1 }],
      text_offset: [0, cut, prompt.length],
    };
    return { json: { ...base, choices: [{ index: 0, text: `${prompt}!`, logprobs, finish_reason: "length" }] } };
  }
  const text = prompt.endsWith("How many?\nA:")
    ? " 3 + 4 = 7. The answer is 7.\n\nQ: more"
    : " It is $1,200. The answer is $1,200.";
  return { json: { ...base, choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }] } };
}

async function cli(args: string[]): Promise<string> {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void lines.push(parts.join(" ")));
  const program = new Command("seapo").exitOverride();
  registerEvalCommand(program);
  await program.parseAsync(["node", "seapo", ...args]);
  vi.restoreAllMocks();
  return lines.join("\n");
}

describe("seapo eval against an OpenAI-compatible server", () => {
  it("writes results with metrics, stderr, config, model identity and data hashes; re-runs from the cache; compares", async () => {
    const dir = dataDir({ "truthfulqa/mc_task_v0.jsonl": truthfulqa, "gsm8k/test.jsonl": gsm8k });
    server = await startTestServer(completions);
    const out = join(dir, "runs", "a.json");
    const args = [
      "eval",
      "--tasks",
      "truthfulqa_mc1,gsm8k_cot",
      "--data-dir",
      dir,
      "--base-url",
      server.baseURL,
      "--model",
      "m",
      "--log-samples",
    ];
    const printed = await cli([...args, "--out", out]);

    const results = JSON.parse(readFileSync(out, "utf8"));
    // The schema the reader checks against knows every field the writer wrote (none is stripped).
    expect(await readResults(out)).toEqual(results);
    expect(results).toMatchObject({
      format: "seapo-eval-results",
      promptFormatVersion: "2",
      harness: "lm-eval",
      harnessCommit: "4e7e0d47f",
      model: { kind: "openai-compatible", baseURL: server.baseURL, model: "m" },
      config: {
        tasks: ["truthfulqa_mc1", "gsm8k_cot"],
        limit: null,
        fewshotSeed: 1234,
        logSamples: true,
        taskVersions: { truthfulqa_mc1: "2.0", gsm8k_cot: "3.0" },
      },
      data: {
        dir,
        files: {
          "truthfulqa/mc_task_v0.jsonl": createHash("sha256").update(truthfulqa).digest("hex"),
          "gsm8k/test.jsonl": createHash("sha256").update(gsm8k).digest("hex"),
        },
      },
      requests: { total: 6, cacheHits: 0, cacheMisses: 6 },
    });
    // MC1: row 1 Nauru (-0.5) beats Monaco (-2) ✓; row 2 "Only weekly." (-0.5) beats the true answer ✗
    expect(results.results.truthfulqa_mc1).toMatchObject({
      dimension: "truthfulness",
      harnessTask: "truthfulqa_mc1",
      harnessVersion: "2.0",
      n: 2,
      metrics: { acc: { value: 0.5, stderr: 0.5 } },
    });
    // GSM8K: "7" ✓ both ways; "$1,200" misses strict ($ not allowed) but matches flexible
    expect(results.results.gsm8k_cot.metrics).toEqual({
      "exact_match,strict-match": { value: 0.5, stderr: 0.5 },
      "exact_match,flexible-extract": { value: 1, stderr: 0 },
    });
    expect(printed).toMatch(/truthfulqa_mc1 acc\s+0\.5000 ± 0\.5000/);

    const samples = readFileSync(join(dir, "runs", "a.samples.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(samples).toHaveLength(4);
    expect(await readSamples(join(dir, "runs", "a.samples.jsonl"))).toEqual(samples);
    expect(samples[2]).toMatchObject({
      task: "gsm8k_cot",
      id: "0",
      target: "7",
      metrics: { "exact_match,strict-match": 1 },
      extracted: { strict: "7" },
    });
    expect(samples[2].responses[0].text).toBe(" 3 + 4 = 7. The answer is 7.\n\n");
    expect(samples[2].requests[0].prompt.endsWith("Q: Tom has 3 apples and gets 4 more. How many?\nA:")).toBe(true);

    const sent = server.requests.length;
    expect(server.requests.find((r) => r.body.echo)!.body).toMatchObject({ echo: true, logprobs: 1, temperature: 0 });
    expect(server.requests.find((r) => !r.body.echo)!.body).toMatchObject({
      temperature: 0,
      max_tokens: 256,
      stop: ["Q:", "</s>", "<|im_end|>"],
    });
    const again = join(dir, "runs", "b.json");
    await cli([...args, "--out", again]);
    expect(server.requests.length).toBe(sent);
    expect(JSON.parse(readFileSync(again, "utf8")).requests).toMatchObject({ total: 6, cacheHits: 6, cacheMisses: 0 });

    const table = await cli(["eval", "compare", out, again]);
    expect(table).toMatch(/truthfulqa_mc1 acc\s+0\.5000 ± 0\.5000\s+0\.5000 ± 0\.5000\s+\+0\.0000 ~/);
    expect(table).toContain(`A = ${out}`);
  });
});
