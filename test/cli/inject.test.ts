import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chatCompletion, startTestServer, type Handler, type TestServer } from "../helpers/openai-server.js";
import { injectorReply, parseInjectionPrompt, rewriteOnce } from "../helpers/scripted-injector.js";
import { readJsonl, runCli, startCli } from "../helpers/cli.js";
import { toJsonLines } from "../../src/io/index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const tmp = () => mkdtempSync(join(tmpdir(), "seapo-inject-"));

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

const inject = (args: string[]) =>
  runCli(["inject", "--base-url", server!.baseURL, "--model", "injector-7b", "--max-retries", "8", ...args]);

describe("seapo inject", () => {
  it("writes verified negatives, every export format and stats, with provenance on each row", async () => {
    const dir = tmp();
    const input = writeRows(dir, 6);
    // Row q1's rewrite comes back unchanged, q2's is cut at the token limit, q3's talks about its error.
    server = await startTestServer((request) => {
      const { answer, type } = parseInjectionPrompt(request.body);
      if (answer.includes("1 and 1")) return { json: chatCompletion(answer) };
      if (answer.includes("2 and 2"))
        return { json: chatCompletion(rewriteOnce(answer, type), { finishReason: "length" }) };
      if (answer.includes("3 and 3"))
        return { json: chatCompletion(`${rewriteOnce(answer, type)} (Note: I introduced an error in the sum.)`) };
      return injectorReply(request);
    });
    const out = join(dir, "out");
    const result = await inject(["--input", input, "--out", out, "--strategy", "single:correctness", "--seed", "5"]);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);

    const negatives = readJsonl(join(out, "negatives.jsonl"));
    expect(negatives.map((n) => n.sourceId)).toEqual(["q0", "q4", "q5"]);
    expect(negatives[1]).toMatchObject({
      sourceId: "q4",
      errorType: "correctness",
      injector: "injector-7b",
      templateVersion: "inject-v1",
      seed: 5,
      prompt: "What is 4 plus 4?",
      chosen: "Adding 4 and 4 gives 8, because doubling a number adds it to itself.",
      rejected: "Adding 11 and 4 gives 8, because doubling a number adds it to itself.",
    });
    const rejects = readJsonl(join(out, "rejects.jsonl"));
    expect(rejects.map((r) => [r.sourceId, r.reason])).toEqual([
      ["q1", "identical"],
      ["q2", "truncated"],
      ["q3", "meta-text"],
    ]);

    const dpo = readJsonl(join(out, "dpo.jsonl"));
    expect(dpo).toHaveLength(3);
    expect(dpo[0]).toMatchObject({
      prompt: "What is 0 plus 0?",
      chosen: expect.any(String),
      rejected: expect.any(String),
    });
    const conversational = readJsonl(join(out, "dpo_conversational.jsonl"));
    expect(conversational[0]!.prompt).toEqual([{ role: "user", content: "What is 0 plus 0?" }]);
    const kto = readJsonl(join(out, "kto.jsonl"));
    expect(kto.filter((r) => r.label === true)).toHaveLength(3);
    expect(kto.filter((r) => r.label === false)).toHaveLength(3);
    expect(kto.every((r) => typeof r.prompt === "string" && typeof r.completion === "string")).toBe(true);
    for (const row of [...dpo, ...conversational, ...kto]) expect(JSON.stringify(row)).toContain("injector-7b");

    const info = JSON.parse(readFileSync(join(out, "llamafactory", "dataset_info.json"), "utf8"));
    const files = Object.values(info).map((entry) => (entry as { file_name: string }).file_name);
    for (const file of files) expect(existsSync(join(out, "llamafactory", file))).toBe(true);

    const stats = JSON.parse(readFileSync(join(out, "stats.json"), "utf8"));
    expect(stats).toMatchObject({
      accepted: 3,
      rejected: 3,
      acceptedByType: { correctness: 3 },
      rejectsByReason: { identical: 1, truncated: 1, "meta-text": 1 },
      pairs: 3,
    });
    expect(stats.lengthsInCharacters.positives.count).toBe(3);
    expect(stats.tokens.input).toBeGreaterThan(0);
    expect(result.stdout).toContain("accepted 3");
  });

  it("mixed keeps one of the three negatives per prompt, chosen by the seed", async () => {
    const dir = tmp();
    const input = writeRows(dir, 30);
    server = await startTestServer(injectorReply);
    const runs = [];
    for (const seed of ["1", "1", "2"]) {
      const out = join(dir, `out-${runs.length}`);
      expect((await inject(["--input", input, "--out", out, "--strategy", "mixed", "--seed", seed])).code).toBe(0);
      runs.push(readJsonl(join(out, "dpo.jsonl")).map((row) => (row.seapo as { errorType: string }).errorType));
      expect(readJsonl(join(out, "negatives.jsonl"))).toHaveLength(90);
    }
    expect(runs[0]).toHaveLength(30);
    expect(new Set(runs[0])).toEqual(new Set(["correctness", "logic", "hallucination"]));
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).not.toEqual(runs[0]);
  });

  it("survives 429s with Retry-After, 500s, dropped connections and slow replies", async () => {
    const dir = tmp();
    const input = writeRows(dir, 24);
    server = await startTestServer((request) => {
      const n = request.count;
      if (n % 7 === 1)
        return { status: 429, headers: { "retry-after": "0.2" }, json: { error: { message: "slow down" } } };
      if (n % 7 === 3) return { status: 500, json: { error: { message: "internal" } } };
      if (n % 7 === 5) return { destroy: true };
      if (n % 11 === 0) return { delayMs: 1_500, ...injectorReply(request) };
      return injectorReply(request);
    });
    const out = join(dir, "out");
    const result = await inject([
      "--input",
      input,
      "--out",
      out,
      "--strategy",
      "single:logic",
      "--concurrency",
      "4",
      "--timeout",
      "500",
    ]);
    expect(result.code).toBe(0);
    const negatives = readJsonl(join(out, "negatives.jsonl"));
    expect(negatives.map((n) => n.sourceId)).toEqual(Array.from({ length: 24 }, (_, i) => `q${i}`));
    const stats = JSON.parse(readFileSync(join(out, "stats.json"), "utf8"));
    expect(stats.retries).toBeGreaterThan(5);
    expect(server.requests.length).toBe(24 + stats.retries);
  });

  it("resumes after SIGKILL with every job exactly once, sending only the missing requests", async () => {
    const dir = tmp();
    const input = writeRows(dir, 40);
    const handler: Handler = async (request) => ({ delayMs: 15, ...injectorReply(request) });
    server = await startTestServer(handler);
    const out = join(dir, "out");
    const args = [
      "inject",
      "--base-url",
      server.baseURL,
      "--model",
      "m",
      "--input",
      input,
      "--out",
      out,
      "--strategy",
      "all",
      "--concurrency",
      "3",
    ];
    for (let kill = 0; kill < 2; kill++) {
      const { child, done } = startCli(args);
      const negatives = join(out, "negatives.jsonl");
      const target = 25 * (kill + 1);
      while (!existsSync(negatives) || readFileSync(negatives, "utf8").split("\n").length < target) {
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill("SIGKILL");
      await done;
    }
    const killedRequests = server.requests.length;
    expect(killedRequests).toBeLessThan(120);
    const finished = await startCli(args).done;
    expect(finished.code).toBe(0);
    const keys = readJsonl(join(out, "negatives.jsonl")).map((n) => `${n.sourceId}/${n.errorType}`);
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
    expect(existsSync(join(out, "rejects.jsonl")) ? readJsonl(join(out, "rejects.jsonl")) : []).toEqual([]);
    // Requests cut off by a kill may be sent again, but never more than one window's worth per kill.
    expect(server.requests.length).toBeLessThanOrEqual(120 + 2 * 6);
    expect(readJsonl(join(out, "dpo.jsonl"))).toHaveLength(120);
    expect(readJsonl(join(out, "kto.jsonl")).filter((r) => r.label === true)).toHaveLength(40);
  });

  it("re-running a finished job sends nothing and changes nothing", async () => {
    const dir = tmp();
    const input = writeRows(dir, 5);
    server = await startTestServer(injectorReply);
    const out = join(dir, "out");
    expect((await inject(["--input", input, "--out", out, "--strategy", "single:hallucination"])).code).toBe(0);
    const before = readFileSync(join(out, "dpo.jsonl"), "utf8");
    const sent = server.requests.length;
    const again = await inject(["--input", input, "--out", out, "--strategy", "single:hallucination"]);
    expect(again.stdout).toContain("0 requests this run, 5 already done");
    expect(server.requests.length).toBe(sent);
    expect(readFileSync(join(out, "dpo.jsonl"), "utf8")).toBe(before);
  });

  it("refuses to resume into a folder made with other settings", async () => {
    const dir = tmp();
    const input = writeRows(dir, 2);
    server = await startTestServer(injectorReply);
    const out = join(dir, "out");
    expect((await inject(["--input", input, "--out", out, "--strategy", "single:logic"])).code).toBe(0);
    const other = await inject(["--input", input, "--out", out, "--strategy", "single:correctness"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(
      `${join(out, "manifest.json")}:strategy: this output folder holds a run made with other settings`,
    );
  });

  it("asks the judge and rejects negatives it does not confirm", async () => {
    const dir = tmp();
    const input = writeRows(dir, 4);
    server = await startTestServer((request) => {
      const text: string = request.body.messages.at(-1).content;
      if (text.startsWith("You check training data")) {
        const confirmed = !text.includes("What is 2 plus 2?");
        return {
          json: chatCompletion(
            JSON.stringify({ contains_error: confirmed, error_type: "correctness", explanation: "checked" }),
          ),
        };
      }
      return injectorReply(request);
    });
    const out = join(dir, "out");
    const result = await inject(["--input", input, "--out", out, "--strategy", "single:correctness", "--judge"]);
    expect(result.code).toBe(0);
    expect(readJsonl(join(out, "negatives.jsonl")).map((n) => n.sourceId)).toEqual(["q0", "q1", "q3"]);
    expect(readJsonl(join(out, "rejects.jsonl"))).toMatchObject([{ sourceId: "q2", reason: "judge-rejected" }]);
  });
});

describe("seapo inject: bad input", () => {
  const cases: Array<[string, string, string]> = [
    ["malformed JSON", '{"prompt": "a", "response": "b"}\n{"prompt": "a", "response": \n', ":2"],
    ["missing field", '{"prompt": "a", "response": "b"}\n{"prompt": "only a prompt"}\n', ":2:response"],
    ["wrong type", '{"prompt": "a", "response": 42}\n', ":1:response"],
    ["empty prompt", '{"prompt": "   ", "response": "b"}\n', ":1:prompt"],
    [
      "wrong role",
      '{"messages": [{"role": "robot", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n',
      ":1:messages[0].role",
    ],
  ];

  it.each(cases)("%s stops the run naming file:line:field", async (_name, text, where) => {
    const dir = tmp();
    const input = join(dir, "bad.jsonl");
    writeFileSync(input, text);
    server = await startTestServer(injectorReply);
    const result = await inject(["--input", input, "--out", join(dir, "out"), "--strategy", "single:logic"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${input}${where}`);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a known error, not a stack trace
  });

  it("--skip-invalid sends bad rows to rejects.jsonl and counts them", async () => {
    const dir = tmp();
    const input = join(dir, "mixed.jsonl");
    writeFileSync(
      input,
      [
        '{"prompt": "What is 1 plus 1?", "response": "It is 2."}',
        '{"prompt": "no answer"}',
        '{"prompt": "What is 2 plus 2?", "response": "It is 4."}',
      ].join("\n") + "\n",
    );
    server = await startTestServer(injectorReply);
    const out = join(dir, "out");
    const result = await inject(["--input", input, "--out", out, "--strategy", "single:correctness", "--skip-invalid"]);
    expect(result.code).toBe(0);
    expect(readJsonl(join(out, "negatives.jsonl"))).toHaveLength(2);
    expect(readJsonl(join(out, "rejects.jsonl"))).toMatchObject([{ reason: "invalid-input", line: 2 }]);
    expect(JSON.parse(readFileSync(join(out, "stats.json"), "utf8")).rejectsByReason).toEqual({ "invalid-input": 1 });
  });

  it("an unknown error type lists the known ones", async () => {
    const dir = tmp();
    server = await startTestServer(injectorReply);
    const result = await inject(["--input", writeRows(dir, 1), "--out", join(dir, "out"), "--strategy", "single:typo"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("known types: correctness, logic, hallucination");
  });
});
