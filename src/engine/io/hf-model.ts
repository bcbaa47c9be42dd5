import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../errors.js";
import { checkModelConfig, type ModelConfig, type WeightMap } from "../models/config.js";
import { expectedShapes } from "../models/llama.js";
import { readWeights, readWeightsIndex, writeWeights, type WeightsIndex } from "./weights-folder.js";
import {
  CONFIG_FILE,
  generationConfigJson,
  readHfConfig,
  writeHfConfig,
  writeJsonFile,
  type TorchDtype,
} from "./hf-config.js";
import type { WriteDtype } from "./safetensors.js";
import { HfTokenizer, loadTokenizer, saveTokenizerFiles, type TokenizerFiles } from "./tokenizer.js";

/**
 * Load and save a whole Hugging Face model folder: config.json, safetensors weights (single or
 * sharded), tokenizer files, generation_config.json.
 *
 * The expected tensors come from one explicit name → shape map per config (`expectedShapes` in
 * models/llama.ts, which covers both architectures: Qwen2 adds q/k/v biases, tied models drop
 * lm_head). The check runs on the safetensors headers before any tensor data is read, and reports
 * every missing, unexpected and mis-shaped tensor by name at once.
 */

export const GENERATION_CONFIG_FILE = "generation_config.json";

export interface HfModel {
  dir: string;
  config: ModelConfig;
  weights: WeightMap;
  tokenizer: HfTokenizer;
}

/** Entries some weights folders carry that hold no parameters the engine uses. */
function isIgnorable(name: string, config: ModelConfig): boolean {
  return name.endsWith(".rotary_emb.inv_freq") || (config.tieWordEmbeddings && name === "lm_head.weight");
}

const formatShape = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/**
 * Compares the tensors a weights folder holds (name → shape) with what `config` needs. Throws one
 * InputError listing every problem; returns the names to read, in the expected order.
 */
export function checkTensorNames(
  config: ModelConfig,
  present: ReadonlyMap<string, readonly number[]>,
  source: string,
): string[] {
  const expected = expectedShapes(config);
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const [name, shape] of expected) {
    const actual = present.get(name);
    if (actual === undefined) missing.push(`${name} ${formatShape(shape)}`);
    else if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i]))
      misshaped.push(`${name} is ${formatShape(actual)}, expected ${formatShape(shape)}`);
  }
  const tiedHead = present.get("lm_head.weight");
  if (
    config.tieWordEmbeddings &&
    tiedHead !== undefined &&
    formatShape(tiedHead) !== formatShape([config.vocabSize, config.hiddenSize])
  ) {
    misshaped.push(
      `lm_head.weight is ${formatShape(tiedHead)}, expected ${formatShape([config.vocabSize, config.hiddenSize])}`,
    );
  }
  const unexpected = [...present.keys()].filter((name) => !expected.has(name) && !isIgnorable(name, config));
  const problems = [
    missing.length ? `missing ${missing.length} tensor(s): ${missing.join(", ")}` : "",
    unexpected.length ? `unexpected ${unexpected.length} tensor(s): ${unexpected.join(", ")}` : "",
    misshaped.length ? `wrong shape: ${misshaped.join("; ")}` : "",
  ].filter(Boolean);
  if (problems.length > 0) {
    const arch = `${config.architecture}, ${config.numLayers} layers, hidden ${config.hiddenSize}, tie_word_embeddings ${config.tieWordEmbeddings}`;
    throw new InputError(
      source,
      undefined,
      "weights",
      `the tensors do not match config.json (${arch}): ${problems.join("; ")}`,
      "is config.json from the same model as the weights?",
    );
  }
  return [...expected.keys()];
}

/** Reads config.json, validates the weights headers against it, then reads the weights and the tokenizer. */
export async function loadHfModel(dir: string): Promise<HfModel> {
  const { config } = await readHfConfig(dir);
  const index = await readWeightsIndex(dir);
  const names = checkTensorNames(config, shapesOf(index), dir);
  const tokenizer = await loadTokenizer(dir);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new InputError(
      join(dir, CONFIG_FILE),
      undefined,
      "vocab_size",
      `${config.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`,
    );
  }
  const weights = await readWeights(index, names);
  return { dir, config, weights, tokenizer };
}

export function shapesOf(index: WeightsIndex): Map<string, number[]> {
  return new Map([...index.tensors].map(([name, { entry }]) => [name, entry.shape]));
}

export interface SaveHfModelOptions {
  config: ModelConfig;
  weights: WeightMap;
  /** Tokenizer files to write beside the weights (an HfTokenizer's `files` works). */
  tokenizer: TokenizerFiles | HfTokenizer;
  /** On-disk dtype (default F32); config.json's torch_dtype follows it. */
  dtype?: WriteDtype;
  /** Shard the weights into files of at most this many bytes (default: one model.safetensors). */
  maxShardBytes?: number;
}

const TORCH_DTYPES: Record<WriteDtype, TorchDtype> = { F32: "float32", BF16: "bfloat16", F16: "float16" };

/** Writes a folder that loadHfModel and transformers' from_pretrained both load. Returns the files written. */
export async function saveHfModel(dir: string, options: SaveHfModelOptions): Promise<string[]> {
  const { config } = options;
  checkModelConfig(config);
  const names = checkTensorNames(
    config,
    new Map([...options.weights].map(([name, t]) => [name, t.shape])),
    "saveHfModel",
  );
  const ordered: WeightMap = new Map(names.map((name) => [name, options.weights.get(name)!]));
  const dtype = options.dtype ?? "F32";
  await mkdir(dir, { recursive: true });
  await writeHfConfig(dir, config, { torchDtype: TORCH_DTYPES[dtype] });
  const weightFiles = await writeWeights(dir, ordered, { dtype, maxShardBytes: options.maxShardBytes });
  const files = options.tokenizer instanceof HfTokenizer ? options.tokenizer.files : options.tokenizer;
  await saveTokenizerFiles(dir, files);
  const padToken = files.tokenizerConfig.pad_token;
  const padId = typeof padToken === "string" ? padTokenId(files, padToken) : undefined;
  await writeJsonFile(join(dir, GENERATION_CONFIG_FILE), generationConfigJson(config, padId));
  return [CONFIG_FILE, ...weightFiles, "tokenizer.json", "tokenizer_config.json", GENERATION_CONFIG_FILE];
}

function padTokenId(files: TokenizerFiles, token: string): number | undefined {
  const added = files.tokenizerJson.added_tokens;
  if (Array.isArray(added)) {
    const match = added.find((entry: { content?: unknown; id?: unknown }) => entry?.content === token);
    if (typeof match?.id === "number") return match.id;
  }
  return undefined;
}

/** Total number of values in a name → shape map. */
export function countParameters(shapes: Iterable<readonly number[]>): number {
  let total = 0;
  for (const shape of shapes) total += shape.reduce((product, n) => product * n, 1);
  return total;
}

export interface HfModelSummary {
  dir: string;
  config: ModelConfig;
  /** Parameters the engine loads (ignorable extras left out). */
  parameters: number;
  /** On-disk dtypes with the number of tensors stored in each. */
  dtypes: Record<string, number>;
  files: string[];
  tokenizer: HfTokenizer;
}

/** Reads config.json, the safetensors headers (no tensor data) and the tokenizer, and checks they agree. */
export async function inspectHfModel(dir: string): Promise<HfModelSummary> {
  const { config } = await readHfConfig(dir);
  const index = await readWeightsIndex(dir);
  const names = checkTensorNames(config, shapesOf(index), dir);
  const dtypes: Record<string, number> = {};
  for (const name of names) {
    const dtype = index.tensors.get(name)!.entry.dtype;
    dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
  }
  const parameters = countParameters(names.map((name) => index.tensors.get(name)!.entry.shape));
  return { dir, config, parameters, dtypes, files: index.files, tokenizer: await loadTokenizer(dir) };
}
