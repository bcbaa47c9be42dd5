import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnsupportedError } from "../../src/errors.js";
import { createOpenAIModel } from "../../src/llm/openai.js";
import { toJsonLines } from "../../src/io/index.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { llamaServerAvailability, startLlamaServer, type LlamaServer } from "../helpers/llama-server.js";

/**
 * seapo against llama.cpp's own llama-server (built from the llama.cpp source node-llama-cpp
 * ships, scripts/build-llama-server.mjs), serving a `seapo model init` model exported to GGUF.
 * The model's weights are random: what is tested is that every command talks to a real server
 * correctly, and that the server's refusal of prompt log-probs comes out as a clear message.
 */
const availability = llamaServerAvailability();
if (!availability.ok) {
  // CI sets SEAPO_REQUIRE_LLAMA_SERVER=1: there a missing build tool fails the run instead of skipping.
  if (process.env.SEAPO_REQUIRE_LLAMA_SERVER === "1")
    throw new Error(`llama-server unavailable: ${availability.reason}`);
  console.warn(`SKIPPED test/llm/llama-server.test.ts: ${availability.reason}`);
}

const dataDir = new URL("../../../shared/data", import.meta.url).pathname;
let server: LlamaServer;
let dir: string;

async function cli(...args: string[]) {
  const result = await runCli(args);
  if (result.code !== 0) throw new Error(`seapo ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
  return result;
}

describe.skipIf(!availability.ok)("llama.cpp's llama-server serving a seapo model", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "seapo-llama-server-"));
    await cli("model", "init", "--arch", "llama", "--preset", "tiny", "--seed", "3", "--out", join(dir, "model"));
    await cli("model", "export-gguf", join(dir, "model"), join(dir, "model.gguf"), "--type", "f32");
    // The server caps each slot at the model's training context (512 for the tiny preset), and
    // few-shot prompts run long with a 512-token vocabulary: the GGUF's context length is raised
    // at load (RoPE has no table, so the weights do not change). 2 slots of 16k tokens.
    const longContext = [
      "--alias",
      "tiny",
      "--override-kv",
      "llama.context_length=int:16384",
      "-c",
      "32768",
      "-np",
      "2",
    ];
    server = await startLlamaServer(join(dir, "model.gguf"), longContext);
  }, 60 * 60_000); // a first run on a machine builds the server
  afterAll(() => server?.close());

  const serverFlags = () => ["--base-url", server.baseURL, "--model", "tiny"];

  it("ignores echo on legacy completions: HTTP 200 with the generated token's log-probs only", async () => {
    const reply = await fetch(`${server.baseURL}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // Greedy: a sampled end-of-text token would end the reply with no token and no log-probs.
      body: JSON.stringify({
        model: "tiny",
        prompt: "The sky is",
        echo: true,
        max_tokens: 1,
        logprobs: 1,
        temperature: 0,
      }),
    });
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { choices: Array<{ text: string; logprobs: { content: unknown[] } }> };
    expect(body.choices[0]!.text.startsWith("The sky is")).toBe(false);
    expect(body.choices[0]!.logprobs.content).toHaveLength(1);
    const model = createOpenAIModel({ baseURL: server.baseURL, model: "tiny" });
    const error = (await model
      .logprobs([{ context: "The sky", continuation: " is" }])
      .catch((e: unknown) => e)) as Error;
    await model.close?.();
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error.message).toMatch(/ignored echo: .*llama\.cpp's llama-server/);
  });

  it("gives the generated tokens' log-probs on chat and legacy completions", async () => {
    const model = createOpenAIModel({ baseURL: server.baseURL, model: "tiny" });
    const chat = await model.generate({ messages: [{ role: "user", content: "Hello" }], maxTokens: 6, topLogprobs: 3 });
    const raw = await model.generate({ prompt: "Once upon a time", maxTokens: 6, topLogprobs: 3 });
    await model.close?.();
    for (const result of [chat, raw]) {
      expect(result.warnings).toEqual([]);
      // A last token that ends inside a UTF-8 character is held back from the log-probs (the text has it as U+FFFD).
      const joined = result.logprobs!.map((t) => t.token).join("");
      expect(result.text.startsWith(joined)).toBe(true);
      expect(result.logprobs!.length).toBe(
        joined === result.text ? result.usage.outputTokens : result.usage.outputTokens - 1,
      );
      for (const t of result.logprobs!) {
        expect(t.top).toHaveLength(3);
        expect(t.top[0]).toEqual({ token: t.token, logprob: t.logprob }); // greedy: the chosen token is the best
        expect(t.top.map((a) => a.logprob)).toEqual([...t.top.map((a) => a.logprob)].sort((a, b) => b - a));
      }
    }
  });

  it("runs seapo inject through it and accounts for every row", async () => {
    const input = join(dir, "rows.jsonl");
    writeFileSync(
      input,
      toJsonLines([
        { id: "a", prompt: "What is 2 plus 2?", response: "Two plus two is 4." },
        { id: "b", prompt: "Name a primary colour.", response: "Red is a primary colour." },
      ]),
    );
    const out = join(dir, "inject");
    await cli("inject", ...serverFlags(), "--input", input, "--out", out, "--strategy", "all", "--max-tokens", "24");
    const stats = JSON.parse(readFileSync(join(out, "stats.json"), "utf8"));
    expect(stats.accepted + stats.rejected).toBe(6);
    expect(stats.tokens.output).toBeGreaterThan(0);
    expect(readJsonl(join(out, "rejects.jsonl")).filter((r) => r.reason === "provider-error")).toEqual([]);
  });

  it("runs seapo analyze through it: the JSON-schema response format constrains the judge", async () => {
    const input = join(dir, "answers.jsonl");
    const rows = [{ id: "q0", prompt: "What is 1 + 1?", response: "5", reference: "2" }];
    writeFileSync(input, toJsonLines(rows));
    const out = join(dir, "analysis");
    await cli("analyze", ...serverFlags(), "--input", input, "--out", out);
    const judgments = readJsonl(join(out, "judgments.jsonl"));
    expect(judgments.map((j) => j.sourceId)).toEqual(["q0"]);
    expect(JSON.parse(readFileSync(join(out, "analysis.json"), "utf8")).total).toBe(1);
    // A random-weight model writes the schema's JSON only because the server's grammar makes it; it
    // then runs out of tokens inside a free string, so the reply is kept as unusable, with its text.
    expect(judgments[0]!.explanation).toMatch(
      /^unusable judge reply: .*\{"correct" :\s*(true|false), "error_type" :"/s,
    );
  });

  it("runs the generation tasks of seapo eval through it", async () => {
    const out = join(dir, "eval", "results.json");
    const tasks = "gsm8k_cot,gsm8k,minerva_math500,bbh_cot_fewshot,humaneval_greedy";
    await cli(
      "eval",
      "--tasks",
      tasks,
      ...serverFlags(),
      "--data-dir",
      dataDir,
      "--limit",
      "1",
      "--max-gen-tokens",
      "8",
      "--out",
      out,
    );
    const results = JSON.parse(readFileSync(out, "utf8"));
    expect(Object.keys(results.results).sort()).toEqual(tasks.split(",").sort());
    expect(results.results.gsm8k_cot.n).toBe(1);
    expect(results.results.bbh_cot_fewshot.n).toBe(27); // --limit is per BBH subtask
  }, 180_000); // 33 prompts of up to a few thousand tokens; slow only on a loaded machine

  it("stops a log-likelihood task with the refusal and where such tasks run", async () => {
    const out = join(dir, "eval-ll", "results.json");
    const result = await runCli([
      "eval",
      "--tasks",
      "truthfulqa_mc1",
      ...serverFlags(),
      "--data-dir",
      dataDir,
      "--limit",
      "1",
      "--out",
      out,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/truthfulqa_mc1 scores answers by log-likelihood/);
    expect(result.stderr).toMatch(/ignored echo: .*llama\.cpp's llama-server/);
    expect(result.stderr).toMatch(/vLLM or SGLang.*--gguf or --hf/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // a known error, not a stack
  });
});
