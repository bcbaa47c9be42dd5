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

type Scores = Record<string, Record<string, number>>;

/**
 * Golden scores, computed once: `seapo model init`'s seeded tiny Llama on the engine, and the
 * scripted server below. Every task runs one example (one per subject or subtask for mmlu and bbh),
 * so most values are a count over n. Only the truthfulqa_mc2 probabilities carry float noise: the
 * native and TypeScript kernels sum in another order (their engine values differ by about 1e-6),
 * so only they are compared with a tolerance, 4 decimals on the engine and 12 through the server.
 */
const ENGINE_SCORES: Scores = {
  truthfulqa_mc1: { acc: 0 },
  truthfulqa_mc2: { acc: 0.4116639468655332 },
  mmlu: { acc: 14 / 57 },
  arc_easy: { acc: 0, acc_norm: 1 },
  arc_challenge: { acc: 0, acc_norm: 0 },
  gsm8k_cot: { "exact_match,strict-match": 0, "exact_match,flexible-extract": 0 },
  gsm8k: { "exact_match,strict-match": 0, "exact_match,flexible-extract": 0 },
  minerva_math500: { exact_match: 0, equiv_match: 0, boxed_match: 0 },
  bbh_cot_fewshot: { exact_match: 0 },
  humaneval: { "pass@1": 0, "pass@10": 0 },
  humaneval_greedy: { "pass@1": 0 },
};

const SERVER_SCORES: Scores = {
  truthfulqa_mc1: { acc: 0 },
  truthfulqa_mc2: { acc: 0.033569218638383275 },
  mmlu: { acc: 15 / 57 },
  arc_easy: { acc: 0, acc_norm: 0 },
  arc_challenge: { acc: 0, acc_norm: 0 },
  gsm8k_cot: { "exact_match,strict-match": 1, "exact_match,flexible-extract": 1 },
  gsm8k: { "exact_match,strict-match": 1, "exact_match,flexible-extract": 1 },
  minerva_math500: { exact_match: 1, equiv_match: 1, boxed_match: 1 },
  bbh_cot_fewshot: { exact_match: 9 / 27 },
  humaneval: { "pass@1": 0, "pass@10": 0 },
  humaneval_greedy: { "pass@1": 0 },
};

/** Examples scored per task with --limit 1: mmlu has 57 subjects, bbh 27 subtasks. */
const EXAMPLES: Record<string, number> = { mmlu: 57, bbh_cot_fewshot: 27 };

/** The values with float noise, compared to the given number of decimals; the rest must be exact. */
const NOISY = new Set(["truthfulqa_mc2 acc"]);

function expectScores(resultsPath: string, golden: Scores, noise: number) {
  const file = JSON.parse(readFileSync(resultsPath, "utf8")) as {
    results: Record<string, { n: number; metrics: Record<string, { value: number }> }>;
  };
  expect(Object.keys(file.results).sort()).toEqual([...TASK_NAMES].sort());
  expect(Object.keys(golden).sort()).toEqual([...TASK_NAMES].sort());
  for (const name of TASK_NAMES) {
    const result = file.results[name]!;
    expect(result.n, name).toBe(EXAMPLES[name] ?? 1);
    expect(Object.keys(result.metrics), name).toEqual(Object.keys(golden[name]!));
    for (const [metric, expected] of Object.entries(golden[name]!)) {
      const value = result.metrics[metric]!.value;
      if (NOISY.has(`${name} ${metric}`)) expect(value, `${name} ${metric}`).toBeCloseTo(expected, noise);
      else expect(value, `${name} ${metric}`).toBe(expected);
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
    const file = expectScores(out, ENGINE_SCORES, 4) as unknown as { model: { kind: string; sha256: string } };
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
    expectScores(out, SERVER_SCORES, 12);
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
  // One text for every generation task, each extractor finding its part: bbh's "the answer is (A)"
  // on the first line, MATH's final-answer sentence, GSM8K's "The answer is 18" and "#### 18"
  // (the first test question's answer); HumanEval is cut at "\n#" and fails.
  const text =
    " Let me work it out, so the answer is (A).\n    return 0\n" +
    "Final Answer: The final answer is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$. I hope it is correct.\n" +
    "The answer is 18.\n#### 18\n";
  return { json: { ...base, choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }] } };
}
