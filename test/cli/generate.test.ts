import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerGenerateCommand } from "../../src/cli/commands/generate.js";
import { InputError } from "../../src/errors.js";
import { Rng, type WeightMap } from "../../src/engine/index.js";
import { saveLoraAdapter } from "../../src/engine/io/lora-adapter.js";
import { createEngineModel } from "../../src/llm/engine.js";
import { exportGguf } from "../../src/engine/io/hf-to-gguf.js";
import { loadHfModel } from "../../src/engine/io/hf-model.js";
import { STORIES_HF, greedyReference } from "../engine/real/stories260k.js";
import { readJsonl, runCli } from "../helpers/cli.js";
import { chatCompletion, startTestServer, type TestServer } from "../helpers/openai-server.js";

/**
 * `seapo generate` end to end (the built CLI) on the real stories260K: its HF folder on seapo's engine,
 * its SentencePiece GGUF export in llama.cpp, and a local OpenAI-compatible server.
 */
const work = mkdtempSync(join(tmpdir(), "seapo-generate-cli-"));
const gguf = join(work, "stories260K.gguf");
let server: TestServer;

beforeAll(async () => {
  await exportGguf(await loadHfModel(STORIES_HF), gguf, { type: "f32" });
  server = await startTestServer(() => ({
    json: chatCompletion("Once there was a cat.", { promptTokens: 5, completionTokens: 6 }),
  }));
});
afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const greedyFromBos = ["generate", "--raw", "--prompt", "", "--max-new-tokens", "200"];

describe("seapo generate", () => {
  it("--hf --raw continues BOS greedily with the reference text", async () => {
    const { code, stdout, stderr } = await runCli([...greedyFromBos, "--hf", STORIES_HF]);
    expect(stderr).toContain("[length (length) · 1 prompt tokens · 200 new tokens]");
    expect(code).toBe(0);
    expect(stdout).toBe(`${greedyReference.text}\n`);
  });

  it("--gguf on the exported GGUF gives the same text in llama.cpp", async () => {
    const { code, stdout, stderr } = await runCli([...greedyFromBos, "--gguf", gguf]);
    expect(stderr).toContain("200 new tokens]");
    expect(code).toBe(0);
    expect(stdout).toBe(`${greedyReference.text}\n`);
  });

  it("--base-url sends the prompt as a chat turn with the sampling settings", async () => {
    const { code, stdout } = await runCli([
      "generate",
      "--base-url",
      server.baseURL,
      "--model",
      "story-model",
      "--prompt",
      "Tell a story",
      "--temperature",
      "0.7",
      "--top-p",
      "0.9",
      "--seed",
      "3",
      "--max-new-tokens",
      "7",
      "--stop",
      "\\n,THE END",
    ]);
    expect(code).toBe(0);
    expect(stdout).toBe("Once there was a cat.\n");
    const body = server.requests.at(-1)!.body;
    expect(body).toMatchObject({
      model: "story-model",
      messages: [{ role: "user", content: "Tell a story" }],
      temperature: 0.7,
      top_p: 0.9,
      seed: 3,
      max_tokens: 7,
      stop: ["\n", "THE END"],
    });
    expect(body.top_k).toBeUndefined();
  });

  it("samples reproducibly with --seed and writes JSONL records with --out", async () => {
    const input = join(work, "prompts.jsonl");
    writeFileSync(input, `${JSON.stringify({ id: "lily", prompt: "Lily" })}\n${JSON.stringify({ prompt: "Lily" })}\n`);
    const sample = async (out: string) => {
      const args = ["generate", "--hf", STORIES_HF, "--input", input, "--out", out, "--temperature", "1"];
      const { code, stdout } = await runCli([...args, "--top-k", "40", "--seed", "4", "--max-new-tokens", "16"]);
      expect(code).toBe(0);
      expect(stdout).toContain(`wrote 2 records to ${out}`);
      return readJsonl<{ id: string; text: string; finishReason: string; inputTokens: number; outputTokens: number }>(
        out,
      );
    };
    const [a, b] = [await sample(join(work, "a.jsonl")), await sample(join(work, "b.jsonl"))];
    expect(a.map((r) => r.id)).toEqual(["lily", "2"]);
    expect(b.map((r) => r.text)).toEqual(a.map((r) => r.text));
    // The second row samples with seed 5: the same prompt, another story.
    expect(a[1]!.text).not.toBe(a[0]!.text);
    // The chat template renders "<s>Lily\n": BOS, ▁Lily and the newline byte <0x0A> (ids 1, 317, 13).
    expect(a[0]).toMatchObject({ finishReason: "length", inputTokens: 3, outputTokens: 16 });
  });
});

/** The command as main.ts registers it, in-process (no spawn) for help and refusals. */
function program(): Command {
  const root = new Command("seapo").exitOverride();
  registerGenerateCommand(root);
  return root;
}

describe("seapo generate, in-process", () => {
  it("--help lists every option", () => {
    const help = program()
      .commands.find((command) => command.name() === "generate")!
      .helpInformation();
    for (const flag of [
      "--prompt <text>",
      "--input <file>",
      "--out <file>",
      "--raw",
      "--max-new-tokens <n>",
      "--temperature <n>",
      "--top-p <n>",
      "--top-k <n>",
      "--seed <n>",
      "--stop <list>",
      "--adapter <dir>",
      "--hf <dir>",
      "--gguf <path>",
      "--base-url <url>",
      "--model <name>",
    ])
      expect(help, flag).toContain(flag);
  });

  it("streams each --input row to stdout, with a header and a summary line per row on stderr", async () => {
    const input = join(work, "two.jsonl");
    writeFileSync(
      input,
      `${JSON.stringify({ id: "one", prompt: "" })}\n${JSON.stringify({ id: "two", prompt: "Once upon a time," })}\n`,
    );
    const out: string[] = [];
    const err: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => out.push(String(chunk)) > 0);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => err.push(String(chunk)) > 0);
    try {
      await program().parseAsync(["generate", "--hf", STORIES_HF, "--raw", "--input", input, "--max-new-tokens", "5"], {
        from: "user",
      });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    // Greedy from BOS: "Once upon a time," is 5 tokens; after it, " there was a little g" (girl is ▁g + irl).
    expect(out.join("")).toBe("Once upon a time,\n there was a little g\n");
    expect(out.length).toBeGreaterThan(4); // streamed in pieces, not once per row
    expect(err.join("")).toBe(
      "── one\n[length (length) · 1 prompt tokens · 5 new tokens]\n── two\n[length (length) · 6 prompt tokens · 5 new tokens]\n",
    );
  });

  it("--adapter folds a LoRA adapter into the --hf base", async () => {
    const adapter = join(work, "adapter");
    const rng = new Rng(2);
    const weights: WeightMap = new Map();
    for (const layer of [0, 1, 2, 3, 4]) {
      const prefix = `base_model.model.model.layers.${layer}.self_attn.q_proj`;
      const random = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
      weights.set(`${prefix}.lora_A.weight`, { shape: [4, 64], data: random(4 * 64) });
      weights.set(`${prefix}.lora_B.weight`, { shape: [64, 4], data: random(64 * 4) });
    }
    await saveLoraAdapter(adapter, {
      baseModelPath: STORIES_HF,
      rank: 4,
      alpha: 8,
      targetModules: ["q_proj"],
      dropout: 0,
      weights,
    });
    const run = async (out: string, extra: string[]) => {
      const args = ["generate", "--hf", STORIES_HF, "--raw", "--prompt", "", "--max-new-tokens", "12", "--out", out];
      await program().parseAsync([...args, ...extra], { from: "user" });
      return readJsonl<{ model: string; text: string }>(out)[0]!;
    };
    const plain = await run(join(work, "plain.jsonl"), []);
    const adapted = await run(join(work, "adapted.jsonl"), ["--adapter", adapter]);
    expect(plain.text).toBe(greedyReference.text.slice(0, plain.text.length));
    expect(adapted.text).not.toBe(plain.text);
    expect(adapted.model).toBe(`hf:${STORIES_HF}+${adapter}`);
    // The same adapter through the library gives the same text.
    const library = await createEngineModel({ dir: STORIES_HF, adapter });
    expect((await library.generate({ prompt: "", maxTokens: 12 })).text).toBe(adapted.text);
  });

  it.each([
    [["--gguf", "x.gguf", "--adapter", "a", "--prompt", "x"], /--adapter.*an adapter goes on a --hf base folder/],
    [["--hf", STORIES_HF], /give exactly one of --prompt or --input/],
    [["--prompt", "x"], /no model/],
    [["--hf", STORIES_HF, "--prompt", "x", "--top-p", "0"], /--top-p/],
  ])("refuses %j", async (args, message) => {
    const attempt = program().parseAsync(["generate", ...args], { from: "user" });
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow(message);
  });
});
