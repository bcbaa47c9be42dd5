import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chatCompletion, startTestServer, type TestServer } from "../helpers/openai-server.js";
import { injectorReply } from "../helpers/scripted-injector.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { toJsonLines } from "../../src/io/index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("seapo analyze → inject --strategy most-common", () => {
  it("classifies wrong answers, writes the distribution, and drives injection", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-analyze-"));
    const answers = join(dir, "answers.jsonl");
    // The scripted judge reads the verdict the test planted in each answer.
    const planted = ["correct", "logic", "logic", "correctness", "logic", "hallucination", "correct"];
    writeFileSync(
      answers,
      toJsonLines(
        planted.map((kind, i) => ({
          id: `a${i}`,
          prompt: `Question ${i}`,
          response: `answer marked ${kind}`,
          reference: `gold ${i}`,
        })),
      ),
    );
    server = await startTestServer((request) => {
      const text: string = request.body.messages.at(-1).content;
      if (text.startsWith("You grade a model's answer")) {
        const kind = /answer marked (\w+)/.exec(text)![1]!;
        const verdict =
          kind === "correct" ? { correct: true, error_type: "none" } : { correct: false, error_type: kind };
        return { json: chatCompletion(JSON.stringify({ ...verdict, explanation: "scripted" })) };
      }
      return injectorReply(request);
    });
    const out = join(dir, "analysis");
    const result = await runCli([
      "analyze",
      "--input",
      answers,
      "--out",
      out,
      "--base-url",
      server.baseURL,
      "--model",
      "judge",
    ]);
    expect(result.code).toBe(0);
    const analysis = JSON.parse(readFileSync(join(out, "analysis.json"), "utf8"));
    expect(analysis).toMatchObject({
      total: 7,
      correct: 2,
      wrong: 5,
      counts: { correctness: 1, logic: 3, hallucination: 1 },
      distribution: { correctness: 0.2, logic: 0.6, hallucination: 0.2 },
      mostCommon: "logic",
    });
    expect(result.stdout).toMatch(/logic\s+3\s+60\.0%/);
    expect(readJsonl(join(out, "judgments.jsonl"))).toHaveLength(7);

    const rows = join(dir, "rows.jsonl");
    writeFileSync(rows, toJsonLines([{ prompt: "What is 3 plus 4?", response: "3 plus 4 is 7." }]));
    const injected = await runCli([
      "inject",
      "--input",
      rows,
      "--out",
      join(dir, "neg"),
      "--strategy",
      "most-common",
      "--analysis",
      join(out, "analysis.json"),
      "--base-url",
      server.baseURL,
      "--model",
      "injector",
    ]);
    expect(injected.code).toBe(0);
    expect(readJsonl(join(dir, "neg", "negatives.jsonl"))).toMatchObject([{ errorType: "logic" }]);
  });

  it("names file, line and field of a bad answer row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "seapo-analyze-"));
    const answers = join(dir, "answers.jsonl");
    writeFileSync(answers, '{"prompt": "q", "response": "r", "reference": "g"}\n{"prompt": "q", "response": "r"}\n');
    server = await startTestServer(() => ({ json: chatCompletion("{}") }));
    const result = await runCli([
      "analyze",
      "--input",
      answers,
      "--out",
      join(dir, "o"),
      "--base-url",
      server.baseURL,
      "--model",
      "j",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${answers}:2:reference`);
  });
});
