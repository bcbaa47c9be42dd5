import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { registerModelCommand } from "../../../src/cli/commands/model.js";
import { readGgufInfo } from "../../helpers/gguf/reader.js";
import { countParameters, loadHfModel } from "../../../src/engine/io/hf-model.js";
import { expectedShapes } from "../../../src/engine/models/llama.js";
import { InputError } from "../../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-model-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function program(): Command {
  const root = new Command("seapo").exitOverride();
  registerModelCommand(root);
  for (const command of root.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride().configureOutput({ writeErr: () => undefined });
  }
  return root;
}

/** Runs `seapo model …` in-process and returns what it printed. */
async function run(...args: string[]): Promise<string> {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void lines.push(parts.join(" ")));
  await program().parseAsync(["model", ...args], { from: "user" });
  return lines.join("\n");
}

describe("seapo model", () => {
  it("init writes a loadable folder, info summarises it, export-gguf converts it", async () => {
    const out = join(dir, "qwen");
    expect(await run("init", "--arch", "qwen2", "--preset", "tiny", "--out", out, "--seed", "5")).toMatch(
      /wrote qwen2 tiny \(vocab 512, seed 5\)/,
    );
    const { config, weights } = await loadHfModel(out);
    expect(config.architecture).toBe("qwen2");

    const info = await run("info", out);
    expect(info).toMatch(/architecture\s+qwen2 \(Qwen2ForCausalLM\)/);
    expect(info).toContain(`parameters    ${countParameters(expectedShapes(config).values()).toLocaleString("en-US")}`);
    expect(info).toMatch(/dtype\s+F32 \(\d+ tensors\)/);
    expect(info).toMatch(/tokenizer\s+512 tokens, bos none, eos <\|im_end\|> \(511\), chat template yes/);

    const gguf = join(dir, "qwen.gguf");
    expect(await run("export-gguf", out, "--out", gguf, "--type", "q8_0")).toMatch(/wrote .*qwen\.gguf \(q8_0/);
    const ggufInfo = await readGgufInfo(gguf);
    expect(ggufInfo.tensors.find((t) => t.name === "blk.0.ffn_up.weight")?.type).toBe("q8_0");
    expect(ggufInfo.tensors.find((t) => t.name === "blk.0.attn_norm.weight")?.type).toBe("f32");
    expect(weights.size).toBe(ggufInfo.tensors.length);
  });

  it("init is reproducible from --seed, honours --dtype and learns merges from --corpus", async () => {
    const [a, b, c] = ["a", "b", "c"].map((name) => join(dir, `seed-${name}`));
    await run("init", "--arch", "llama", "--out", a!, "--seed", "9");
    await run("init", "--arch", "llama", "--out", b!, "--seed", "9");
    await run("init", "--arch", "llama", "--out", c!, "--seed", "10");
    const bytes = (folder: string) => readFileSync(join(folder, "model.safetensors"));
    expect(bytes(a!).equals(bytes(b!))).toBe(true);
    expect(bytes(a!).equals(bytes(c!))).toBe(false);

    const corpus = join(dir, "corpus.txt");
    writeFileSync(corpus, "zebra zebra zebra quartz ".repeat(50));
    const d = join(dir, "bf16");
    await run("init", "--arch", "llama", "--out", d, "--dtype", "bf16", "--corpus", corpus);
    expect(JSON.parse(readFileSync(join(d, "config.json"), "utf8")).torch_dtype).toBe("bfloat16");
    expect(await run("info", d)).toMatch(/dtype\s+BF16/);
    const vocab = JSON.parse(readFileSync(join(d, "tokenizer.json"), "utf8")).model.vocab;
    expect(vocab).toHaveProperty("\u0120zebra");
  });

  it("refuses bad arguments with a clear message", async () => {
    await expect(run("init", "--arch", "mistral", "--out", join(dir, "x"))).rejects.toThrow(
      /Allowed choices are llama, qwen2/,
    );
    await expect(run("init", "--arch", "llama", "--out", join(dir, "x"), "--seed", "-3")).rejects.toThrow(InputError);
    await expect(
      run("init", "--arch", "llama", "--out", join(dir, "x"), "--corpus", join(dir, "missing.txt")),
    ).rejects.toThrow(/missing\.txt: file not found/);
    expect(existsSync(join(dir, "x"))).toBe(false);
    await expect(run("info", join(dir, "nothing"))).rejects.toThrow(/nothing\/config\.json: file not found/);
  });

  it("documents every option in the help", () => {
    const model = program().commands.find((c) => c.name() === "model")!;
    for (const sub of model.commands) {
      const help = sub.helpInformation();
      for (const option of sub.options) {
        expect(help, `${sub.name()} ${option.long}`).toContain(option.long!);
        expect(option.description.length, `${sub.name()} ${option.long} has a description`).toBeGreaterThan(10);
      }
    }
    const init = model.commands.find((c) => c.name() === "init")!.helpInformation();
    expect(init).toContain("tiny   hidden 64, 2 layers, 4 heads/2 kv, ffn 128, vocab 512, ctx 512\n");
    expect(init).toContain("small  hidden 256, 4 layers, 8 heads/4 kv, ffn 688, vocab 2048, ctx 2048\n");
  });
});

describe("seapo model export-gguf DIR OUT.gguf", () => {
  it("takes the output file as a positional argument, as --out, or both when they agree", async () => {
    const folder = join(dir, "positional-llama");
    await run("init", "--arch", "llama", "--out", folder, "--seed", "2");
    const positional = join(dir, "positional.gguf");
    expect(await run("export-gguf", folder, positional, "--type", "f32")).toMatch(/wrote .*positional\.gguf \(f32/);
    const info = await readGgufInfo(positional);
    expect(info.metadata["general.architecture"]).toEqual({ type: "string", value: "llama" });
    expect(info.tensors.find((t) => t.name === "blk.0.attn_q.weight")?.type).toBe("f32");

    const viaOption = join(dir, "via-option.gguf");
    await run("export-gguf", folder, "--out", viaOption, "--type", "f32");
    expect(readFileSync(viaOption).equals(readFileSync(positional))).toBe(true);
    expect(await run("export-gguf", folder, viaOption, "--out", viaOption, "--type", "f32")).toMatch(
      /wrote .*via-option\.gguf/,
    );
  });

  it("refuses no output file, or two different ones, before reading the model", async () => {
    const folder = join(dir, "missing-folder");
    await expect(run("export-gguf", folder)).rejects.toThrow(/no output file given[\s\S]*export-gguf DIR OUT\.gguf/);
    await expect(run("export-gguf", folder, join(dir, "a.gguf"), "--out", join(dir, "b.gguf"))).rejects.toThrow(
      InputError,
    );
    await expect(run("export-gguf", folder, join(dir, "a.gguf"), "--out", join(dir, "b.gguf"))).rejects.toThrow(
      /two output files given/,
    );
    expect(existsSync(join(dir, "a.gguf")) || existsSync(join(dir, "b.gguf"))).toBe(false);
  });
});
