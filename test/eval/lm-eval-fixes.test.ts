import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pythonStrip } from "../../src/eval/extract.js";
import { runCli } from "../helpers/cli.js";
import { buildResultsFile, formatComparison, readResults, type TabulatedResults } from "../../src/eval/results.js";
import { runEval } from "../../src/eval/run.js";
import { parseTaskVersions } from "../../src/eval/tasks/index.js";
import { MMLU_SUBJECTS } from "../../src/eval/tasks/mmlu.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";

describe("pythonStrip", () => {
  // Python 3.11: [hex(i) for i in range(0x110000) if chr(i).isspace()]
  const PY_SPACE = [
    0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
    0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ];

  it("removes exactly Python's str.isspace() characters from both ends", () => {
    const stripped = [];
    for (let cp = 0; cp < 0x10000; cp++) if (pythonStrip(`${String.fromCodePoint(cp)}x`) === "x") stripped.push(cp);
    expect(stripped).toEqual(PY_SPACE);
    // U+0085 (MMLU sociology test #69 ends in it) is stripped; U+FEFF, which trim() removes, is kept.
    expect(pythonStrip("a\u0085")).toBe("a");
    expect(pythonStrip("\ufeffa\ufeff")).toBe("\ufeffa\ufeff");
    expect(pythonStrip(" a b\n")).toBe("a b");
  });
});

describe("mmlu", () => {
  it("strips a question's trailing U+0085 as Python's strip() does", async () => {
    const files: Record<string, string> = {};
    for (const subject of Object.keys(MMLU_SUBJECTS)) {
      files[`mmlu/dev/${subject}_dev.csv`] = "d?,a,b,c,d,A\n";
      files[`mmlu/test/${subject}_test.csv`] = `Why ${subject}?\u0085,w,x,y,z,A\n`;
    }
    const model = scriptedModel({ logprob: () => -1 });
    await runEval(model, { tasks: ["mmlu"], dataDir: dataDir(files), limit: 1, numFewshot: 0 });
    expect(model.logprobCalls[0]!.context).toBe(
      "The following are multiple choice questions (with answers) about abstract algebra.\n\n" +
        "Why abstract_algebra?\nA. w\nB. x\nC. y\nD. z\nAnswer:",
    );
  });
});

describe("minerva_math500 exemplars", () => {
  it("end the align lines with one backslash before the newline, as the harness's Python strings do", async () => {
    const row = { problem: "1+1?", solution: "$\\boxed{2}$", answer: "2", subject: "A", level: 1, unique_id: "u" };
    const model = scriptedModel({ generate: () => "" });
    await runEval(model, { tasks: ["minerva_math500"], dataDir: dataDir({ "math500/test.jsonl": jsonl([row]) }) });
    const prompt = model.generateCalls[0]!.prompt!;
    expect(prompt).toContain("30n&=480\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}");
    expect(prompt).toContain("6x-4y&=a,\\\n6y-9x &=b.");
    expect(prompt).not.toContain("\\\\\n");
  });
});

describe("humaneval", () => {
  it("allows 1,024 new tokens, the harness's max_gen_toks", async () => {
    const problem = { task_id: "t/0", prompt: "def f():\n", entry_point: "f", canonical_solution: "", test: "" };
    const model = scriptedModel({ generate: () => "    return 1\n" });
    const dir = dataDir({ "humaneval/HumanEval.jsonl": jsonl([problem]) });
    const run = await runEval(model, { tasks: ["humaneval_greedy"], dataDir: dir });
    expect(model.generateCalls[0]!.maxTokens).toBe(1024);
    expect(run.results.humaneval_greedy!.settings.maxTokens).toBe(1024);
  });
});

describe("bbh_cot_fewshot versions", () => {
  // sports_understanding's cot-prompts file puts a space after "Let's think step by step."; the others a newline.
  const cot =
    "canary\n-----\nJudge plausibility.\n\n" +
    'Q: Is "A scored" plausible?\nA: Let\'s think step by step. A plays. So the answer is yes.\n\n' +
    'Q: Is "B scored" plausible?\nA: Let\'s think step by step.\nB rests. So the answer is no.';
  const dir = dataDir({
    "bbh/bbh/sports_understanding.json": JSON.stringify({ examples: [{ input: "Is C?", target: "yes" }] }),
    "bbh/cot-prompts/sports_understanding.txt": cot,
  });
  const ask = "\n\nQ: Is C?\nA: Let's think step by step.\n";

  it("starts each exemplar's answer on a new line in v4.0 (the default)", async () => {
    const model = scriptedModel({ generate: () => "" });
    const run = await runEval(model, { tasks: ["bbh_cot_fewshot"], dataDir: dir, numFewshot: 2 });
    expect(model.generateCalls[0]!.prompt).toBe(
      "Judge plausibility.\n\n" +
        'Q: Is "A scored" plausible?\nA: Let\'s think step by step.\nA plays. So the answer is yes.\n\n' +
        'Q: Is "B scored" plausible?\nA: Let\'s think step by step.\nB rests. So the answer is no.' +
        ask,
    );
    expect(run.results.bbh_cot_fewshot!.harnessVersion).toBe("4.0");
  });

  it("keeps the cot-prompts file as it is in v2.0", async () => {
    const model = scriptedModel({ generate: () => "" });
    const run = await runEval(model, {
      tasks: ["bbh_cot_fewshot"],
      dataDir: dir,
      numFewshot: 2,
      taskVersions: { bbh_cot_fewshot: "2.0" },
    });
    expect(model.generateCalls[0]!.prompt).toBe(cot.split("-----\n")[1] + ask);
    expect(run.results.bbh_cot_fewshot!.harnessVersion).toBe("2.0");
  });
});

describe("--task-version", () => {
  it("parses task=version pairs and refuses versions a task does not have", () => {
    expect(parseTaskVersions("truthfulqa_mc2=2.0, bbh_cot_fewshot=2.0")).toEqual({
      truthfulqa_mc2: "2.0",
      bbh_cot_fewshot: "2.0",
    });
    expect(() => parseTaskVersions("truthfulqa_mc2=1.0")).toThrow(
      /^--task-version: truthfulqa_mc2 has no version 1\.0\n {2}hint: truthfulqa_mc2 can run version 3\.0 or 2\.0; versions to choose: truthfulqa_mc2 \(3\.0, 2\.0\); bbh_cot_fewshot \(4\.0, 2\.0\)$/,
    );
    expect(() => parseTaskVersions("mmlu=2.0")).toThrow(
      /mmlu has no version 2\.0\n {2}hint: mmlu can run version 1\.0;/,
    );
    expect(() => parseTaskVersions("nope=2.0")).toThrow(/unknown task "nope"/);
    expect(() => parseTaskVersions("truthfulqa_mc2")).toThrow(/"truthfulqa_mc2" is not task=version/);
  });

  it("switches truthfulqa_mc2 between the v3.0 and v2.0 rule, and results.json records the version", async () => {
    const rows = [
      {
        question: "Q?",
        mc1_targets: { choices: ["t", "f"], labels: [1, 0] },
        // a true answer listed after a false one: v3.0 counts it as true, v2.0 as false
        mc2_targets: { choices: ["t", "f", "t2"], labels: [1, 0, 1] },
      },
    ];
    const dir = dataDir({ "truthfulqa/mc_task_v0.jsonl": jsonl(rows) });
    const model = scriptedModel({ logprob: () => -1 });
    const current = await runEval(model, { tasks: ["truthfulqa_mc2"], dataDir: dir });
    const older = await runEval(model, {
      tasks: ["truthfulqa_mc2"],
      dataDir: dir,
      taskVersions: { truthfulqa_mc2: "2.0" },
    });
    expect(current.results.truthfulqa_mc2!.metrics.acc!.value).toBeCloseTo(2 / 3, 12);
    expect(older.results.truthfulqa_mc2!.metrics.acc!.value).toBeCloseTo(1 / 3, 12);
    const file = buildResultsFile(older, {
      seapoVersion: "0",
      model: { kind: "other", provider: "p", modelId: "m" },
      config: {},
    });
    expect(file).toMatchObject({ harness: "lm-eval", harnessCommit: "4e7e0d47f", promptFormatVersion: "2" });
    expect(file.config.taskVersions).toEqual({ truthfulqa_mc2: "2.0" });
    expect(file.results.truthfulqa_mc2).toMatchObject({ harnessTask: "truthfulqa_mc2", harnessVersion: "2.0" });
  });
});

describe("results files written before harness versions were recorded", () => {
  it("read back as lm-eval runs with no versions", async () => {
    const path = join(dataDir({}), "old.json");
    writeFileSync(
      path,
      JSON.stringify({
        format: "seapo-eval-results",
        formatVersion: 1,
        seapoVersion: "0.1.0",
        promptFormatVersion: "1",
        createdAt: "2026-01-01T00:00:00.000Z",
        model: { kind: "other", provider: "test", modelId: "m" },
        config: {},
        data: { dir: "data", files: {} },
        requests: { total: 1 },
        durationMs: 1,
        results: { mmlu: { n: 1, harnessTask: "mmlu (default, v1)", metrics: { acc: { value: 1, stderr: null } } } },
      }),
    );
    const file = await readResults(path);
    expect(file.harness).toBe("lm-eval");
    expect(file.harnessCommit).toBeUndefined();
    expect(file.results.mmlu!.harnessVersion).toBeUndefined();
  });
});

describe("eval compare across harness versions", () => {
  it("warns when a task ran different harness versions, and not when an old file has none", () => {
    const table = (harnessVersion?: string): TabulatedResults => ({
      promptFormatVersion: "2",
      model: { modelId: "m" },
      results: {
        truthfulqa_mc2: { metrics: { acc: { value: 0.5, stderr: 0.01 } }, ...(harnessVersion && { harnessVersion }) },
      },
    });
    const text = (a: TabulatedResults, b: TabulatedResults) =>
      formatComparison([
        { label: "A", results: a },
        { label: "B", results: b },
      ]);
    expect(text(table("3.0"), table("2.0"))).toContain(
      "warning: truthfulqa_mc2 ran different harness versions (A 3.0, B 2.0)",
    );
    expect(text(table("3.0"), table())).not.toContain("harness versions");
    expect(text(table("3.0"), { ...table("3.0"), harness: "seapo-paper" })).toContain(
      "warning: the files come from different harnesses (lm-eval, seapo-paper)",
    );
  });
});

describe("seapo eval --task-version", () => {
  it("refuses a version the task does not have before opening any model", async () => {
    const out = join(dataDir({}), "r.json");
    const result = await runCli([
      "eval",
      "--tasks",
      "truthfulqa_mc2",
      "--out",
      out,
      "--task-version",
      "truthfulqa_mc2=9.9",
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--task-version: truthfulqa_mc2 has no version 9.9");
  });

  it("lists each task's harness task and versions in `eval tasks`", async () => {
    const result = await runCli(["eval", "tasks"]);
    expect(result.stdout).toContain("lm-eval truthfulqa_mc2 v3.0 (also: 2.0)");
    expect(result.stdout).toContain("lm-eval bbh_cot_fewshot v4.0 (also: 2.0)");
    expect(result.stdout).toContain("lm-eval mmlu (default) v1.0");
  });
});
