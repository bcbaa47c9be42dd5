import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { InputError } from "../../errors.js";
import { integerArg } from "../schema-options.js";
import {
  ARCHITECTURE_NAMES,
  exportGguf,
  type GgufTensorType,
  HF_ARCHITECTURES,
  type HfModelSummary,
  initHfModel,
  inspectHfModel,
  loadHfModel,
  MODEL_PRESETS,
  type ModelConfig,
  PRESET_NAMES,
  type PresetName,
  type WriteDtype,
} from "../../engine/index.js";

const DTYPES: Record<string, WriteDtype> = { f32: "F32", bf16: "BF16", f16: "F16" };
const GGUF_TYPES: readonly GgufTensorType[] = ["f32", "f16", "q8_0"];

const describePreset = (name: PresetName): string => {
  const p = MODEL_PRESETS[name];
  return `${name.padEnd(6)} hidden ${p.hiddenSize}, ${p.numLayers} layers, ${p.numHeads} heads/${p.numKvHeads} kv, ffn ${p.intermediateSize}, vocab ${p.vocabSize}, ctx ${p.maxPositionEmbeddings}`;
};

export function registerModelCommand(program: Command): void {
  const model = program
    .command("model")
    .summary("create, inspect and convert Hugging Face model folders")
    .description(
      "Model folders in Hugging Face's layout (config.json, model.safetensors, tokenizer.json, tokenizer_config.json), " +
        "for the Llama and Qwen2 architectures the seapo engine loads, trains and exports.",
    );
  registerInit(model);
  registerInfo(model);
  registerExportGguf(model);
}

function registerInit(model: Command): void {
  model
    .command("init")
    .summary("write a randomly initialised model with a freshly learned byte-level BPE tokenizer")
    .description(
      "Writes config.json, model.safetensors (normal init with std 0.02, norms 1, biases 0, seeded), tokenizer.json, " +
        "tokenizer_config.json (ChatML specials and chat template) and generation_config.json to --out. The folder loads " +
        "in seapo and in transformers (AutoModelForCausalLM / AutoTokenizer.from_pretrained).\n\nPresets:\n" +
        PRESET_NAMES.map((name) => `  ${describePreset(name)}`).join("\n") +
        "\n\nArchitectures:\n  llama  separate lm_head, no biases, BOS added when encoding\n  qwen2  tied embeddings, q/k/v biases, no BOS",
    )
    .addOption(new Option("--arch <arch>", "architecture").choices(ARCHITECTURE_NAMES).makeOptionMandatory())
    .addOption(new Option("--preset <preset>", "model size (see Presets above)").choices(PRESET_NAMES).default("tiny"))
    .requiredOption("--out <dir>", "output folder (created; existing model files in it are overwritten)")
    .addOption(
      new Option("--seed <n>", "seed of the weight initialisation")
        .default(0)
        .argParser(integerArg("--seed", 0, 0xffffffff)),
    )
    .option(
      "--corpus <file>",
      "UTF-8 text file to learn the tokenizer merges from (default: a built-in English and arithmetic sample)",
    )
    .addOption(
      new Option("--dtype <dtype>", "on-disk dtype of the weights").choices(Object.keys(DTYPES)).default("f32"),
    )
    .action(
      async (options: {
        arch: ModelConfig["architecture"];
        preset: PresetName;
        out: string;
        seed: number;
        corpus?: string;
        dtype: string;
      }) => {
        const corpus = options.corpus === undefined ? undefined : await readText(options.corpus);
        const { config, files } = await initHfModel(options.out, {
          architecture: options.arch,
          preset: options.preset,
          seed: options.seed,
          corpus,
          dtype: DTYPES[options.dtype],
        });
        console.log(
          `wrote ${options.arch} ${options.preset} (vocab ${config.vocabSize}, seed ${options.seed}) to ${options.out}: ${files.join(", ")}`,
        );
      },
    );
}

function registerInfo(model: Command): void {
  model
    .command("info")
    .summary("print a model folder's architecture, size, dtype and tokenizer")
    .description(
      "Reads config.json, the safetensors headers (not the weights) and the tokenizer, checks that every tensor matches the config, and prints a summary.",
    )
    .argument("<dir>", "Hugging Face model folder")
    .action(async (dir: string) => {
      console.log(formatSummary(await inspectHfModel(dir)));
    });
}

function registerExportGguf(model: Command): void {
  model
    .command("export-gguf")
    .summary("convert a model folder to a GGUF file for llama.cpp / node-llama-cpp")
    .description(
      "Writes the model as GGUF: llama.cpp tensor names, hyper-parameters, the byte-level BPE tokenizer with its merges, " +
        "special tokens and chat template. For llama the Q/K rows are permuted to llama.cpp's RoPE layout; qwen2 is written as is. " +
        "Norms and biases stay f32.",
    )
    .argument("<dir>", "Hugging Face model folder")
    .argument("[out]", "GGUF file to write (or --out)")
    .option("--out <file>", "GGUF file to write (the same as the OUT argument)")
    .addOption(new Option("--type <type>", "type of the weight matrices").choices(GGUF_TYPES).default("f16"))
    .option("--name <name>", "general.name stored in the file (default: seapo-<architecture>)")
    .action(
      async (
        dir: string,
        outArg: string | undefined,
        options: { out?: string; type: GgufTensorType; name?: string },
      ) => {
        const out = outputPath(outArg, options.out);
        const loaded = await loadHfModel(dir);
        const { bytes } = await exportGguf(loaded, out, { type: options.type, name: options.name });
        console.log(`wrote ${out} (${options.type}, ${(bytes / 2 ** 20).toFixed(1)} MiB)`);
      },
    );
}

function formatSummary(summary: HfModelSummary): string {
  const { config: c, tokenizer: t } = summary;
  const className = Object.entries(HF_ARCHITECTURES).find(([, arch]) => arch === c.architecture)?.[0];
  const dtypes = Object.entries(summary.dtypes)
    .map(([dtype, count]) => `${dtype} (${count} tensors)`)
    .join(", ");
  const special = (token: string | undefined, id: number | undefined) =>
    token === undefined ? "none" : `${token} (${id})`;
  return [
    `folder        ${summary.dir}`,
    `architecture  ${c.architecture} (${className})`,
    `parameters    ${summary.parameters.toLocaleString("en-US")} (${(summary.parameters / 1e6).toFixed(2)}M)`,
    `dtype         ${dtypes}`,
    `files         ${summary.files.length}`,
    `layers        ${c.numLayers}, hidden ${c.hiddenSize}, intermediate ${c.intermediateSize}`,
    `attention     ${c.numHeads} heads, ${c.numKvHeads} kv heads, head_dim ${c.headDim}, bias ${c.attentionBias ? "yes" : "no"}`,
    `rope          theta ${c.ropeTheta}, context ${c.maxPositionEmbeddings}`,
    `embeddings    vocab ${c.vocabSize}, tied ${c.tieWordEmbeddings ? "yes" : "no"}`,
    `tokenizer     ${t.vocabSize} tokens, bos ${special(t.bosToken, t.bosTokenId)}${t.addsBos ? " added when encoding" : ""}, eos ${special(t.eosToken, t.eosTokenId)}, chat template ${t.chatTemplate ? "yes" : "no"}`,
  ].join("\n");
}

/** export-gguf's output file, given as the OUT argument or as --out (not two different ones). */
function outputPath(positional: string | undefined, option: string | undefined): string {
  const out = positional ?? option;
  if (out === undefined)
    throw new InputError(
      "command line",
      undefined,
      "OUT",
      "no output file given",
      "seapo model export-gguf DIR OUT.gguf (or --out OUT.gguf)",
    );
  if (positional !== undefined && option !== undefined && positional !== option) {
    throw new InputError(
      "command line",
      undefined,
      "--out",
      `two output files given: "${positional}" and --out "${option}"`,
      "give the output file once",
    );
  }
  return out;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new InputError(file, undefined, undefined, "file not found", "--corpus takes a UTF-8 text file");
    throw error;
  }
}
