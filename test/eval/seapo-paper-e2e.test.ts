import { cpSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataReader } from "../../src/eval/data.js";
import { PAPER_TASK_VERSION } from "../../src/eval/harnesses/seapo-paper/common.js";
import { passAtK } from "../../src/eval/metrics.js";
import {
  readResults,
  readSamples,
  resolveDataDir,
  samplesPath,
  SEAPO_PAPER_TASKS,
  type ResultsFile,
  type SampleLine,
} from "../../src/eval/index.js";
import type { EvalRequest, GenerationRequest } from "../../src/eval/types.js";
import { createEngineModel } from "../../src/llm/engine.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { startServe, type ServeProcess } from "../helpers/seapo-serve.js";

// `seapo eval --harness seapo-paper --tasks paper` on a `seapo model init` model served by `seapo serve`
// (both the built CLI, on 127.0.0.1), on the real data of ../shared/data with --limit 1 and HumanEval in
// the real sandbox. To stay fast on two shared cores the run reads a copy with two MMLU subjects and three
// BBH tasks (the rest whole) and generates at most 12 tokens. A random model scores near nothing, so what
// is checked is exact: what went over the wire, what came back, and how the scores follow from it.
const shared = resolveDataDir();
const MMLU_SUBJECTS = ["abstract_algebra", "anatomy"];
const BBH_TASKS = ["boolean_expressions", "disambiguation_qa", "hyperbaton"];
const MAX_GEN_TOKENS = 12;
const PAPER_TASKS = Object.keys(SEAPO_PAPER_TASKS).sort() as Array<keyof typeof SEAPO_PAPER_TASKS>;

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

const work = mkdtempSync(join(tmpdir(), "seapo-paper-e2e-"));
const dataDir = smallDataDir();
const modelDir = join(work, "model");
const requestLog = join(work, "requests.jsonl");
const out = join(work, "paper.json");
let serve: ServeProcess;
let file: ResultsFile;
let samples: SampleLine[];

beforeAll(async () => {
  const init = await runCli(["model", "init", "--arch", "llama", "--preset", "tiny", "--seed", "5", "--out", modelDir]);
  expect(init.code, init.stderr).toBe(0);
  serve = await startServe(["--hf", modelDir, "--served-model-name", "tiny", "--log-requests", requestLog]);
  const run = await runCli([
    "eval",
    "--harness",
    "seapo-paper",
    "--tasks",
    "paper",
    "--limit",
    "1",
    "--max-gen-tokens",
    String(MAX_GEN_TOKENS),
    "--base-url",
    serve.baseURL,
    "--model",
    "tiny",
    "--data-dir",
    dataDir,
    // Every request goes over the wire (no cache), four log-likelihood prompts per request.
    "--no-cache",
    "--batch-size",
    "4",
    "--log-samples",
    "--out",
    out,
  ]);
  expect(run.code, run.stderr).toBe(0);
  file = await readResults(out);
  samples = await readSamples(samplesPath(out));
}, 120_000);
afterAll(async () => {
  await serve?.stop();
});

const loadOptions = { limit: 1, maxGenTokens: MAX_GEN_TOKENS, fewshotSeed: 1234, taskVersion: PAPER_TASK_VERSION };

/** The harness's own requests for a task, built in-process from the same data and options. */
async function harnessRequests(task: keyof typeof SEAPO_PAPER_TASKS): Promise<EvalRequest[]> {
  const loaded = await SEAPO_PAPER_TASKS[task].load(new DataReader(dataDir), loadOptions);
  return loaded.instances.flatMap((instance) => instance.requests);
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe("seapo eval tasks --harness seapo-paper", () => {
  it("lists that harness's tasks, each with its metrics and source, and the groups it runs whole", async () => {
    const { code, stdout } = await runCli(["eval", "tasks", "--harness", "seapo-paper"]);
    expect(code).toBe(0);
    const listed = stdout.split("\n").filter((line) => /^\S+ {2}/.test(line));
    expect(listed.map((line) => line.split(/\s+/)[0]).sort()).toEqual(PAPER_TASKS);
    for (const task of PAPER_TASKS)
      expect(listed.find((l) => l.startsWith(`${task} `))).toMatch(
        new RegExp(`${SEAPO_PAPER_TASKS[task].metrics.join(", ").replace(/[@]/g, "\\$&")}$`),
      );
    expect(stdout).toContain(`seapo-paper ${SEAPO_PAPER_TASKS.mmlu.harnessTask} ${PAPER_TASK_VERSION}`);
    expect(stdout).toMatch(/^groups: paper = .*; truthfulqa = truthfulqa_mc1,truthfulqa_mc2$/m);
    expect(stdout).not.toContain("arc_easy");
  });
});

describe("seapo eval --harness seapo-paper through seapo serve", () => {
  it("records every task of the harness with its metric names and example counts", () => {
    expect(file).toMatchObject({
      harness: "seapo-paper",
      harnessCommit: "8b9069993",
      config: { harness: "seapo-paper" },
    });
    expect(file.model).toMatchObject({ kind: "openai-compatible", baseURL: serve.baseURL, model: "tiny" });
    expect(Object.keys(file.results).sort()).toEqual(PAPER_TASKS);
    // The results say where the data differs from the paper's: MATH-500 for full MATH, today's TruthfulQA.csv.
    expect(file.results.minerva_math500!.settings).toMatchObject({
      maxTokens: MAX_GEN_TOKENS,
      data: expect.stringMatching(/^MATH-500 .*full MATH/),
    });
    expect(file.results.truthfulqa_mc1!.settings).toMatchObject({ data: expect.stringMatching(/TruthfulQA\.csv/) });
    expect(Object.keys(file.data.files)).toContain("truthfulqa/TruthfulQA.csv");
    const expectedN = { mmlu: MMLU_SUBJECTS.length, bbh_cot_fewshot: BBH_TASKS.length };
    for (const task of PAPER_TASKS) {
      const result = file.results[task]!;
      expect(Object.keys(result.metrics), task).toEqual([...SEAPO_PAPER_TASKS[task].metrics]);
      expect(result.n, task).toBe(expectedN[task as keyof typeof expectedN] ?? 1);
      expect(result.harnessVersion).toBe(PAPER_TASK_VERSION);
      expect(samples.filter((s) => s.task === task)).toHaveLength(result.n);
    }
  });

  it("sends the harness's prompts and settings, and nothing else", async () => {
    const wire = readJsonl<{ path: string; body: Record<string, unknown> }>(requestLog).filter(
      (r) => r.path === "/v1/completions",
    );
    const echoed = wire.filter((r) => r.body.echo).flatMap((r) => [r.body.prompt].flat() as string[]);
    expect(wire.some((r) => r.body.echo && Array.isArray(r.body.prompt) && r.body.prompt.length > 1)).toBe(true);
    const generated = wire.filter((r) => !r.body.echo).map((r) => r.body);
    const expected = (await Promise.all(PAPER_TASKS.map(harnessRequests))).flat();
    const scored = expected.filter((r) => r.kind === "loglikelihood");
    // Every prompt the harness scores went out, and nothing else (a retried request may go out twice).
    const unique = (texts: string[]) => [...new Set(texts)].sort();
    expect(unique(echoed)).toEqual(unique(scored.map((r) => r.context + r.continuation)));
    const sampled = expected.filter((r): r is GenerationRequest => r.kind === "generate");
    const key = (r: { prompt?: unknown; seed?: unknown }) => `${String(r.seed)}\u0000${String(r.prompt)}`;
    expect(unique(generated.map(key))).toEqual(unique(sampled.map(key)));
    for (const request of sampled) {
      const body = generated.find((g) => key(g) === key(request))!;
      const { model, max_tokens, temperature, top_p, stop, seed } = body;
      expect({ model, max_tokens, temperature, top_p, stop, seed }).toEqual({
        model: "tiny",
        max_tokens: request.maxTokens,
        temperature: request.temperature,
        top_p: request.topP,
        // OpenAI's API takes four stop strings; run.ts sends the first four and cuts at all of them.
        stop: request.stop.length > 0 ? request.stop.slice(0, 4) : undefined,
        seed: request.seed,
      });
    }
    // The samples file keeps exactly these requests.
    expect(samples.flatMap((s) => s.requests).length).toBe(expected.length);
  });

  it("gets back what the engine computes in-process: the same log-probs and the same generations", async () => {
    const engine = await createEngineModel({ dir: modelDir });
    const pairs = samples.flatMap((s) => s.requests.map((request, i) => ({ request, response: s.responses[i]! })));
    const scored = pairs.filter((p) => p.request.kind === "loglikelihood");
    const reference = await engine.logprobs(
      scored.map(({ request }) => request as Extract<EvalRequest, { kind: "loglikelihood" }>),
    );
    expect(scored.map((p) => p.response)).toEqual(
      reference.map((r) => ({ kind: "loglikelihood", logprob: r.logprob, isGreedy: r.isGreedy })),
    );
    // One generation per task (and HumanEval's seeded samples 0 and 19) rerun in-process.
    const generated = pairs.filter((p) => p.request.kind === "generate");
    const picked = generated.filter(
      (p, i) =>
        generated.findIndex(
          (q) =>
            q.request.kind === p.request.kind &&
            (q.request as GenerationRequest).prompt === (p.request as GenerationRequest).prompt,
        ) === i || (p.request as GenerationRequest).seed === 19,
    );
    for (const { request, response } of picked) {
      const r = request as GenerationRequest;
      const local = await engine.generate({
        prompt: r.prompt,
        maxTokens: r.maxTokens,
        temperature: r.temperature,
        topP: r.topP,
        seed: r.seed,
        stop: r.stop,
      });
      expect(response).toEqual({ kind: "generate", text: local.text });
    }
  });

  it("scores follow from the saved samples", async () => {
    const of = (task: string) => samples.filter((s) => s.task === task);
    const value = (task: string, metric: string) => file.results[task]!.metrics[metric]!.value;
    // Each example rescored by the harness's own scorer from its saved responses (HumanEval's needs the sandbox: below).
    for (const task of PAPER_TASKS.filter((t) => t !== "humaneval")) {
      const { instances } = await SEAPO_PAPER_TASKS[task].load(new DataReader(dataDir), loadOptions);
      for (const sample of of(task)) {
        const instance = instances.find((x) => x.id === sample.id && x.subtask === sample.subtask)!;
        const rescored = await instance.score(sample.responses, {});
        expect(rescored.metrics, `${task} ${sample.id}`).toEqual(sample.metrics);
      }
      // One example per subtask, so the size-weighted and the equal mean agree.
      for (const metric of SEAPO_PAPER_TASKS[task].metrics)
        expect(value(task, metric), task).toBe(mean(of(task).map((s) => s.metrics[metric]!)));
    }
    // MMLU: the letter scored highest is the answer.
    for (const s of of("mmlu")) {
      const lps = s.responses.map((r) => (r.kind === "loglikelihood" ? r.logprob : Number.NaN));
      expect(s.metrics.acc).toBe("ABCD"[lps.indexOf(Math.max(...lps))] === s.target ? 1 : 0);
    }
    // HumanEval: pass@10 from the 20 sandbox verdicts.
    for (const s of of("humaneval")) {
      const statuses = s.extracted as string[];
      expect(statuses).toHaveLength(20);
      expect(s.metrics["pass@10"]).toBe(passAtK(20, statuses.filter((x) => x === "passed").length, 10));
    }
    expect(value("humaneval", "pass@10")).toBe(mean(of("humaneval").map((s) => s.metrics["pass@10"]!)));
  });
});
