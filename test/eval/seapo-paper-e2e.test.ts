import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerEvalCommand } from "../../src/cli/commands/eval.js";
import { readResults, readSamples, resolveDataDir, samplesPath } from "../../src/eval/index.js";
import { truthfulqaMc2 } from "../../src/eval/metrics.js";
import { startTestServer, type ServerRequest, type TestServer } from "../helpers/openai-server.js";

// `--harness seapo-paper --tasks paper` on the real data of ../shared/data with --limit 1, through a
// real OpenAI-compatible HTTP server on 127.0.0.1, HumanEval in the real sandbox. To stay fast on two
// shared cores the run reads a copy with two MMLU subjects and three BBH tasks (the rest whole).
const shared = resolveDataDir();
const MMLU_SUBJECTS = ["abstract_algebra", "anatomy"];
const BBH_TASKS = ["boolean_expressions", "disambiguation_qa", "hyperbaton"];
function smallDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "seapo-paper-data-"));
  const copy = (path: string) => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    cpSync(join(shared, path), join(dir, path));
  };
  for (const path of [
    "gsm8k/test.jsonl",
    "math500/test.jsonl",
    "humaneval/HumanEval.jsonl",
    "truthfulqa/TruthfulQA.csv",
  ])
    copy(path);
  for (const s of MMLU_SUBJECTS) for (const split of ["dev", "test"]) copy(`mmlu/${split}/${s}_${split}.csv`);
  for (const t of BBH_TASKS) [`bbh/bbh/${t}.json`, `bbh/cot-prompts/${t}.txt`].forEach(copy);
  return dir;
}
const dataDir = smallDataDir();
const humaneval0 = JSON.parse(readFileSync(join(shared, "humaneval/HumanEval.jsonl"), "utf8").split("\n")[0]!) as {
  prompt: string;
  canonical_solution: string;
};

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

/** Characters as tokens, each with a log-prob from a hash of the 24 characters up to it; generations in the paper's answer forms. */
function completions(request: ServerRequest) {
  const prompt: string = request.body.prompt;
  const base = {
    id: "c",
    object: "text_completion",
    created: 0,
    model: "m",
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
  if (request.body.echo) {
    const chars = [...prompt, "!"];
    const offsets = chars.map((_, i) => chars.slice(0, i).join("").length);
    const lp = (i: number) =>
      -(
        parseInt(
          createHash("sha1")
            .update(prompt.slice(Math.max(0, i - 23), i + 1))
            .digest("hex")
            .slice(0, 6),
          16,
        ) % 500
      ) /
        100 -
      0.1;
    const lps = chars.map((_, i) => (i === 0 ? null : lp(i)));
    const logprobs = {
      tokens: chars,
      token_logprobs: lps,
      text_offset: offsets,
      top_logprobs: chars.map((c, i) => (i === 0 ? null : { [c]: lps[i]! })),
    };
    return { json: { ...base, choices: [{ index: 0, text: `${prompt}!`, logprobs, finish_reason: "length" }] } };
  }
  // BBH reads "(A)" (the first examples of disambiguation_qa and hyperbaton), GSM8K the last number (18, the first answer), MATH the last box.
  const text =
    prompt === humaneval0.prompt
      ? humaneval0.canonical_solution
      : " Let me work it out, so the answer is (A). The box is \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)} and 18";
  return { json: { ...base, choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }] } };
}

async function cli(args: string[]): Promise<string> {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void lines.push(parts.join(" ")));
  const program = new Command("seapo").exitOverride();
  registerEvalCommand(program);
  try {
    await program.parseAsync(["node", "seapo", ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return lines.join("\n");
}

const PAPER_TASKS = [
  "bbh_cot_fewshot",
  "humaneval",
  "gsm8k_cot",
  "minerva_math500",
  "mmlu",
  "truthfulqa_mc1",
  "truthfulqa_mc2",
];

describe("seapo eval --harness seapo-paper", () => {
  it("runs every paper task through a local server, records the harness, and compare refuses other harnesses' files", async () => {
    server = await startTestServer(completions);
    const dir = mkdtempSync(join(tmpdir(), "seapo-paper-e2e-"));
    const common = [
      "eval",
      "--limit",
      "1",
      "--base-url",
      server.baseURL,
      "--model",
      "m",
      "--data-dir",
      dataDir,
      "--no-cache",
    ];
    const paper = join(dir, "paper.json");
    await cli([...common, "--harness", "seapo-paper", "--tasks", "paper", "--log-samples", "--out", paper]);

    const file = await readResults(paper);
    expect(file).toMatchObject({
      harness: "seapo-paper",
      harnessCommit: "8b9069993",
      config: { harness: "seapo-paper" },
    });
    expect(Object.keys(file.results).sort()).toEqual([...PAPER_TASKS].sort());
    const value = (task: string, metric: string) => file.results[task]!.metrics[metric]!.value;
    expect(value("gsm8k_cot", "exact_match")).toBe(1);
    expect(value("minerva_math500", "accuracy")).toBe(1);
    expect(value("bbh_cot_fewshot", "exact_match")).toBe(2 / 3);
    expect(value("humaneval", "pass@10")).toBe(1);
    expect(Object.keys(file.results.humaneval!.metrics)).toEqual(["pass@10"]);
    expect(file.results.mmlu!.n).toBe(2);
    expect(file.results.bbh_cot_fewshot!.n).toBe(3);
    expect(file.results.minerva_math500!.settings).toMatchObject({
      maxTokens: 1024,
      data: expect.stringMatching(/^MATH-500 .*full MATH/),
    });
    expect(file.results.truthfulqa_mc1!.settings).toMatchObject({ data: expect.stringMatching(/TruthfulQA\.csv/) });
    expect(Object.keys(file.data.files)).toContain("truthfulqa/TruthfulQA.csv");
    for (const task of PAPER_TASKS) expect(file.results[task]!.harnessVersion).toBe("oi-8b90699+seapo");

    // What went over the wire: GSM8K stops at "\n\n\n" only; HumanEval is 20 samples at T 0.8, top-p 0.95.
    const gsmRequest = server.requests.find(
      (r) => !r.body.echo && String(r.body.prompt).startsWith("Answer the following questions."),
    )!;
    expect(gsmRequest.body.stop).toEqual(["\n\n\n"]);
    const sampled = server.requests.filter((r) => r.body.prompt === humaneval0.prompt);
    expect(sampled).toHaveLength(20);
    expect(sampled[0]!.body).toMatchObject({ temperature: 0.8, top_p: 0.95, max_tokens: 512 });

    // MC2 is the share of the true answers' probability, from the log-probs the server returned.
    const mc2 = (await readSamples(samplesPath(paper))).find((s) => s.task === "truthfulqa_mc2")!;
    const lps = mc2.responses.map((r) => (r.kind === "loglikelihood" ? r.logprob : Number.NaN));
    const nTrue = 6; // the first CSV row lists six correct answers
    expect(value("truthfulqa_mc2", "mc2")).toBe(
      truthfulqaMc2(
        lps,
        lps.map((_, i) => (i < nTrue ? 1 : 0)),
      ),
    );

    const lmEval = join(dir, "lm-eval.json");
    await cli([...common, "--tasks", "gsm8k_cot", "--out", lmEval]);
    expect((await readResults(lmEval)).harness).toBe("lm-eval");
    await expect(cli(["eval", "compare", lmEval, paper])).rejects.toThrow(/different harnesses.*lm-eval.*seapo-paper/s);
    const forced = await cli(["eval", "compare", lmEval, paper, "--force"]);
    expect(forced).toContain("warning: the files come from different harnesses (lm-eval, seapo-paper)");
  }, 120_000);
});
