import { describe, expect, it } from "vitest";
import { runEval } from "../../src/eval/run.js";
import { humanevalProgram } from "../../src/eval/tasks/humaneval.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";

const problem = {
  task_id: "HumanEval/0",
  prompt: 'def add(a, b):\n    """Return a + b."""\n',
  entry_point: "add",
  canonical_solution: "    return a + b\n",
  test: "\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
};
const other = { ...problem, task_id: "HumanEval/1", prompt: 'def add(a, b):\n    """Add two numbers."""\n' };
const dir = dataDir({ "humaneval/HumanEval.jsonl": jsonl([problem, other]) });

describe("humaneval", () => {
  it("runs prompt + completion + tests + check(entry_point)", () => {
    expect(humanevalProgram(problem, "    return a + b\n")).toBe(
      'def add(a, b):\n    """Return a + b."""\n    return a + b\n\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n\ncheck(add)',
    );
  });

  it("scores pass@1 and pass@10 over 20 samples with the unbiased estimator", async () => {
    // Problem 0: samples 0–2 correct, the rest wrong (c = 3). Problem 1: all wrong.
    const model = scriptedModel({
      generate: (prompt, request) =>
        prompt === problem.prompt && request.seed! < 3 ? "    return a + b\n" : "    return a - b\n",
    });
    const run = await runEval(model, { tasks: ["humaneval"], dataDir: dir });
    expect(model.generateCalls).toHaveLength(40);
    expect(model.generateCalls[0]).toMatchObject({
      temperature: 0.8,
      topP: 0.95,
      stop: ["\nclass", "\ndef", "\n#", "\nif"],
      seed: 0,
    });
    expect(new Set(model.generateCalls.slice(0, 20).map((r) => r.seed)).size).toBe(20);
    const m = run.results.humaneval!.metrics;
    // pass@1 = c/n = 3/20 and 0; pass@10 = 1 − C(17,10)/C(20,10) = 17/19 and 0
    expect(m["pass@1"]!.value).toBeCloseTo((3 / 20 + 0) / 2, 12);
    expect(m["pass@10"]!.value).toBeCloseTo((17 / 19 + 0) / 2, 12);
    expect(m["pass@10"]!.stderr).toBeCloseTo(17 / 19 / 2, 12);
    expect(run.sandbox).toMatchObject({ cpuSeconds: 3, verdict: "harness" });
  });

  it("scores a completion that opens a socket, writes outside or loops forever as a failure", async () => {
    const completions = [
      '    import socket\n    socket.create_connection(("127.0.0.1", 9))\n    return a + b\n',
      '    open("/tmp/seapo-humaneval-escape.txt", "w").write("x")\n    return a + b\n',
      "    while True:\n        pass\n",
    ];
    for (const completion of completions) {
      const model = scriptedModel({ generate: () => completion });
      const run = await runEval(model, {
        tasks: ["humaneval_greedy"],
        dataDir: dir,
        limit: 1,
        logSamples: true,
        sandbox: { cpuSeconds: 1, timeoutMs: 3_000 },
      });
      expect(run.results.humaneval_greedy!.metrics["pass@1"]!.value).toBe(0);
      const status = (run.samples!.humaneval_greedy![0]!.extracted as Array<{ status: string }>)[0]!.status;
      expect(status).toBe(completion.includes("while") ? "timeout" : "blocked");
    }
  });

  it("cuts a completion at every stop sequence, the fifth (not sent to the server) included", async () => {
    const model = scriptedModel({ generate: () => "    return a + b\nprint(undefined_name)\n" });
    const run = await runEval(model, { tasks: ["humaneval_greedy"], dataDir: dir, limit: 1 });
    expect(run.results.humaneval_greedy!.metrics["pass@1"]!.value).toBe(1);
  });
});
