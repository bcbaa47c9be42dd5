import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { readGgufVocab } from "../../../src/engine/gguf/read-vocab.js";
import { loadGgufTokenizer, tokenizerFilesFromGguf } from "../../../src/engine/io/gguf-vocab.js";
import { HfTokenizer } from "../../../src/engine/io/tokenizer.js";

/**
 * seapo's tokenizers against llama.cpp's own tokenizer test vectors. llama.cpp's source ships inside
 * node-llama-cpp as a git bundle; its models/ folder holds vocabulary-only GGUFs (ggml-vocab-*.gguf)
 * with inputs (.inp) and the ids llama.cpp must produce (.out), which tests/test-tokenizer-0.cpp checks:
 * inputs separated by "\n__ggml_vocab_test__\n", one line of space-separated ids per input, tokenized
 * without BOS/EOS (add_special false) and without matching special-token text (parse_special false).
 * The files are taken from the bundle at test time (a bare clone, cached in the temp dir by the
 * bundle's size and date), never committed here.
 *
 * Every vocabulary whose model seapo converts ("llama" SentencePiece, "gpt2" byte-level BPE) must give
 * every case exactly; the others are listed in UNSUPPORTED with the reason and must be refused by name.
 * No input holds special-token text, so matching it (seapo always does) changes nothing here.
 */

const SEPARATOR = "\n__ggml_vocab_test__\n";

/** Vocabulary → number of cases, all of which must match (the bundle of node-llama-cpp 3.x, llama.cpp de3ff81). */
const SUPPORTED: Record<string, number> = {
  "llama-spm": 46, // llama: Llama 2's SentencePiece
  "phi-3": 46, // llama, with user-defined chat tokens
  "gpt-2": 46,
  "llama-bpe": 46, // Llama 3: ignore_merges
  qwen2: 46,
  qwen35: 50,
  "deepseek-coder": 46,
  "deepseek-llm": 46,
  falcon: 46,
  mpt: 46,
  starcoder: 46,
  refact: 46,
  "command-r": 46, // 256,000 tokens, ~4 s of CPU: run with SEAPO_ALL_LLAMA_VOCABS=1 (its regexes are starcoder's)
};
const HEAVY = new Set(["command-r"]);
const RUN = Object.entries(SUPPORTED).filter(
  ([name]) => process.env.SEAPO_ALL_LLAMA_VOCABS === "1" || !HEAVY.has(name),
);

/** Vocabularies with vectors that seapo does not convert, and the error that says so. */
const UNSUPPORTED: Record<string, RegExp> = {
  "bert-bge": /tokenizer\.ggml\.model: tokenizer model "bert" is not supported/, // WordPiece
  "gemma-4": /tokenizer\.ggml\.model: tokenizer model "gemma4" is not supported/, // its own BPE variant
};

let models: string;

beforeAll(() => {
  models = llamaCppModels();
}, 120_000);

/** The bundle's models/ folder, extracted once per bundle into the temp dir. */
function llamaCppModels(): string {
  const bundle = fileURLToPath(
    new URL("../../../node_modules/node-llama-cpp/llama/gitRelease.bundle", import.meta.url),
  );
  const { size, mtimeMs } = statSync(bundle);
  const cache = join(tmpdir(), `seapo-llama-vocab-${size}-${Math.round(mtimeMs)}`);
  if (existsSync(join(cache, "models"))) return join(cache, "models");
  mkdirSync(dirname(cache), { recursive: true });
  const staging = mkdtempSync(`${cache}-staging-`);
  try {
    extractModels(bundle, staging);
    renameSync(staging, cache); // atomic: a concurrent run either finds the whole folder or makes its own
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(cache, "models"))) throw error;
  }
  return join(cache, "models");
}

/** models/*.gguf and their .inp/.out from the bundle's HEAD into `dir`/models. */
function extractModels(bundle: string, dir: string): void {
  execFileSync("git", ["clone", "--quiet", "--bare", bundle, join(dir, "git")]);
  const paths = ["models/*.gguf", "models/*.gguf.inp", "models/*.gguf.out"];
  const tar = join(dir, "models.tar");
  execFileSync("git", ["--git-dir", join(dir, "git"), "archive", "--output", tar, "HEAD", "--", ...paths]);
  execFileSync("tar", ["-x", "-f", tar, "-C", dir]);
  rmSync(tar);
  rmSync(join(dir, "git"), { recursive: true, force: true });
}

interface VocabCase {
  text: string;
  ids: number[];
}

/** test-tokenizer-0.cpp's reading of the .inp/.out pair. */
function readCases(gguf: string): VocabCase[] {
  const raw = readFileSync(`${gguf}.inp`, "utf8");
  const inputs: string[] = [];
  for (let at = 0; at < raw.length;) {
    const next = raw.indexOf(SEPARATOR, at);
    inputs.push(raw.slice(at, next < 0 ? raw.length : next));
    if (next < 0) break;
    at = next + SEPARATOR.length;
  }
  const lines = readFileSync(`${gguf}.out`, "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  expect(lines.length, `${gguf}: .inp and .out hold different numbers of cases`).toBe(inputs.length);
  return inputs.map((text, i) => {
    const line = lines[i]!.trim();
    return { text, ids: line === "" ? [] : line.split(" ").map(Number) };
  });
}

describe("llama.cpp's tokenizer test vectors", () => {
  it.each(RUN)(
    "%s: every case gives llama.cpp's ids",
    async (name, count) => {
      const gguf = join(models, `ggml-vocab-${name}.gguf`);
      const tokenizer = await loadYielding(gguf);
      const cases = readCases(gguf);
      expect(cases.length).toBe(count);
      const failing = cases
        .filter(
          ({ text, ids }) =>
            JSON.stringify(tokenizer.encode(text, { addSpecialTokens: false })) !== JSON.stringify(ids),
        )
        .map(({ text }) => text);
      expect(failing, `${name}: ${cases.length - failing.length}/${cases.length} pass`).toEqual([]);
    },
    120_000,
  );

  it.each(Object.entries(UNSUPPORTED))(
    "%s: refused, naming the key",
    (name, error) => {
      const gguf = join(models, `ggml-vocab-${name}.gguf`);
      expect(readCases(gguf).length).toBeGreaterThan(0);
      expect(() => loadGgufTokenizer(gguf)).toThrow(error);
    },
    60_000,
  );

  it("covers every vocabulary that has vectors", () => {
    const withVectors = readdirVocabs(models).filter((name) => existsSync(join(models, `ggml-vocab-${name}.gguf.inp`)));
    expect(withVectors.sort()).toEqual([...Object.keys(SUPPORTED), ...Object.keys(UNSUPPORTED)].sort());
  });

  it("llama-spm: BOS comes from the file's add_bos_token, and decoding gives the text back", () => {
    const gguf = join(models, "ggml-vocab-llama-spm.gguf");
    const vocab = readGgufVocab(gguf);
    expect([vocab.model, vocab.pre, vocab.tokens.length, vocab.bosTokenId, vocab.addBosToken]).toEqual([
      "llama",
      "default",
      32000,
      1,
      true,
    ]);
    const tokenizer = loadGgufTokenizer(gguf);
    const ids = tokenizer.encode("Hello world");
    expect(ids).toEqual([1, 15043, 3186]);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("Hello world");
  }, 60_000);
});

/** loadGgufTokenizer in its three steps, letting the test runner's messages through between them. */
async function loadYielding(gguf: string): Promise<HfTokenizer> {
  const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const vocab = readGgufVocab(gguf);
  await pause();
  const files = tokenizerFilesFromGguf(vocab);
  await pause();
  return new HfTokenizer(files, gguf);
}

function readdirVocabs(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => /^ggml-vocab-.*\.gguf$/.test(file))
    .map((file) => file.slice("ggml-vocab-".length, -".gguf".length));
}
