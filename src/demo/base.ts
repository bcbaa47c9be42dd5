/**
 * The demo's base model: a tiny Llama pretrained on the world's corpus, then SFT-tuned on its
 * question/answer rows, so that it answers in the world's language but still makes errors of every
 * type. Everything is seeded and runs in a fixed order, so the same command on the same machine and
 * backend rebuilds the same weights bit for bit (`seapo demo build-base`).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import {
  AdamW,
  clipGradNorm,
  crossEntropy,
  HfTokenizer,
  LlamaModel,
  presetModel,
  randomWeights,
  Rng,
  saveHfModel,
} from "../engine/index.js";
import { SeapoError, zodInputError } from "../errors.js";
import { writeFileAtomic } from "../io/index.js";
import { lrAt } from "../train/index.js";
import {
  buildCorpus,
  buildSft,
  createWorld,
  generateTasks,
  worldVersionSpec,
  type TaskSet,
  type World,
  type WorldVersion,
} from "./world/index.js";

/** Written next to the weights: the options and the hash a rebuild must reproduce. */
export const BASE_RECIPE_FILE = "seapo-base.json";

const count = z.number().int().positive();
/** How a base model is built; seapo-base.json keeps them, so a rebuild can repeat them. */
export const baseModelOptionsSchema = z.object({
  worldSeed: z.number().int(),
  /** The world version (src/demo/world/versions.ts); absent in recipes written before versions: world 1. */
  worldVersion: z.union([z.literal(1), z.literal(2)]).optional(),
  modelSeed: z.number().int(),
  hiddenSize: count,
  numLayers: count,
  numHeads: count,
  numKvHeads: count,
  intermediateSize: count,
  vocabSize: count,
  /** Tokens per packed pretraining sequence. */
  seqLen: count,
  batchSize: count,
  pretrainSteps: z.number().int().min(0),
  sftSteps: z.number().int().min(0),
  /**
   * After every n SFT steps, one step on a corpus batch (rehearsal): facts of held-out keys appear only
   * in the corpus, and SFT alone lets the model forget them. Absent: none (the world-1 recipe).
   */
  sftReplayEvery: count.optional(),
  lr: z.number().positive(),
  /** Characters of corpus the tokenizer learns its merges from (the whole corpus is slow and adds little). */
  tokenizerChars: count,
});
export type BaseModelOptions = z.infer<typeof baseModelOptionsSchema>;

/** seapo-base.json: the recipe `seapo demo build-base` ran and what it produced. Written and read through this. */
export const baseRecipeSchema = z.object({
  command: z.string(),
  options: baseModelOptionsSchema,
  parameters: z.number().int().min(0),
  /** sha256 of model.safetensors: what a rebuild must reproduce. */
  weightsSha256: z.string(),
  losses: z.object({ pretrain: z.number(), sft: z.number() }),
  seconds: z.number().min(0),
});
export type BaseRecipe = z.infer<typeof baseRecipeSchema>;

export const defaultBaseOptions: BaseModelOptions = {
  worldSeed: 1,
  modelSeed: 7,
  hiddenSize: 128,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  intermediateSize: 352,
  vocabSize: 768,
  seqLen: 192,
  batchSize: 16,
  pretrainSteps: 2000,
  sftSteps: 2000,
  lr: 3e-3,
  tokenizerChars: 200_000,
};

/**
 * World 2's base recipe. The first world-2 base (the world-1 recipe) completed 13 of 192 held-out facts
 * in statement form after SFT and scored 12% on knowledge and 6% on truthfulness on validation, so it
 * pretrains longer and rehearses the corpus during SFT (docs/science.md, world and base versions).
 */
const worldTwoBase: Partial<BaseModelOptions> = { pretrainSteps: 2500, sftReplayEvery: 2 };

/** The recipe `seapo demo build-base --world` starts from: world 1's is the shipped base's, unchanged. */
export function baseOptionsFor(version: WorldVersion): BaseModelOptions {
  return version === 1 ? defaultBaseOptions : { ...defaultBaseOptions, ...worldTwoBase, worldVersion: version };
}

/** The world a base recipe was built on, and its tasks. */
export function worldOfRecipe(options: Pick<BaseModelOptions, "worldSeed" | "worldVersion">): {
  world: World;
  tasks: TaskSet;
  version: WorldVersion;
} {
  const version = options.worldVersion ?? 1;
  const spec = worldVersionSpec(version);
  const world = createWorld(options.worldSeed, spec.world);
  return { world, tasks: generateTasks(world, spec.tasks), version };
}

/** A training sequence: token ids and which of the next-token predictions count (1) or not (0). */
interface Sequence {
  ids: number[];
  scored: number[];
}

/** The world's corpus as packed, fully scored sequences of seqLen + 1 tokens. */
function packCorpus(documents: readonly string[], tokenizer: HfTokenizer, seqLen: number): Sequence[] {
  const stream: number[] = [];
  const separator = tokenizer.eosTokenId === undefined ? [] : [tokenizer.tokenToId("<|endoftext|>")!];
  for (const doc of documents) stream.push(...tokenizer.encode(doc, { addSpecialTokens: false }), ...separator);
  const sequences: Sequence[] = [];
  for (let start = 0; start + seqLen + 1 <= stream.length; start += seqLen) {
    const ids = stream.slice(start, start + seqLen + 1);
    sequences.push({ ids, scored: ids.slice(1).map(() => 1) });
  }
  return sequences;
}

/** Chat-formatted SFT rows: the prompt with the generation header is masked, the answer and its end token scored. */
export function sftSequences(
  rows: ReadonlyArray<{ prompt: string; response: string }>,
  tokenizer: HfTokenizer,
): Sequence[] {
  const end = tokenizer.eosTokenId!;
  return rows.map(({ prompt, response }) => {
    const promptIds = tokenizer.encodeChat([{ role: "user", content: prompt }], { addGenerationPrompt: true });
    const answer = [...tokenizer.encode(response, { addSpecialTokens: false }), end];
    const ids = [...promptIds, ...answer];
    return { ids, scored: ids.slice(1).map((_, t) => (t >= promptIds.length - 1 ? 1 : 0)) };
  });
}

/** One optimizer step of next-token cross-entropy on right-padded sequences; returns the loss. */
function lmStep(model: LlamaModel, optimizer: AdamW, batch: readonly Sequence[]): number {
  const T = Math.max(...batch.map((s) => s.ids.length)) - 1;
  const pad = <X>(xs: readonly X[], fill: X): X[] =>
    Array.from({ length: T }, (_, t) => (t < xs.length ? xs[t]! : fill));
  const inputs = batch.map((s) => pad(s.ids.slice(0, -1), 0));
  const targets = batch.map((s) => pad(s.ids.slice(1), 0));
  const attention = batch.map((s) =>
    pad(
      s.ids.slice(1).map(() => 1),
      0,
    ),
  );
  const scored = batch.map((s) => pad(s.scored, 0));
  const loss = crossEntropy(model.forward(inputs, { attentionMask: attention }), targets, scored);
  loss.backward();
  clipGradNorm(model.trainableParameters().values(), 1);
  optimizer.step();
  optimizer.zeroGrad();
  return loss.item();
}

/** Seeded batches drawn without replacement, epoch after epoch. */
function* batches(sequences: readonly Sequence[], batchSize: number, rng: Rng): Generator<Sequence[]> {
  for (;;) {
    const order = sequences.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let i = 0; i + batchSize <= order.length; i += batchSize)
      yield order.slice(i, i + batchSize).map((k) => sequences[k]!);
  }
}

/** Whether SFT step `step` (0-based) is followed by a rehearsal step on the corpus. */
function replayDue(options: BaseModelOptions, step: number): boolean {
  const every = options.sftReplayEvery;
  return every !== undefined && (step + 1) % every === 0;
}

/** What a build gave: the recipe's results, and the folder it wrote. */
export type BaseModelSummary = Omit<BaseRecipe, "command" | "options"> & { dir: string };

/** Trains the base model from scratch and writes it as a Hugging Face folder. */
export async function buildBaseModel(
  dir: string,
  options: BaseModelOptions = defaultBaseOptions,
  onStep?: (phase: "pretrain" | "sft", step: number, total: number, loss: number) => void,
): Promise<BaseModelSummary> {
  const started = Date.now();
  const { world, tasks, version } = worldOfRecipe(options);
  const corpus = buildCorpus(world, tasks, worldVersionSpec(version).corpus);
  const { config, tokenizer: files } = presetModel({
    architecture: "llama",
    preset: "tiny",
    corpus: corpus.text.slice(0, options.tokenizerChars),
    sizes: {
      hiddenSize: options.hiddenSize,
      numLayers: options.numLayers,
      numHeads: options.numHeads,
      numKvHeads: options.numKvHeads,
      intermediateSize: options.intermediateSize,
      vocabSize: options.vocabSize,
      maxPositionEmbeddings: 512,
    },
  });
  const tokenizer = new HfTokenizer(files);
  const model = LlamaModel.fromWeights(config, randomWeights(config, options.modelSeed), { trainable: true });
  const params = model.trainableParameters();
  const optimizer = new AdamW(params, { lr: options.lr, weightDecay: 0.01 });
  const rng = new Rng(options.modelSeed);

  const packed = packCorpus(corpus.documents, tokenizer, options.seqLen);
  // Rehearsal draws from its own seeded stream, so a recipe without it builds exactly as before.
  const corpusBatches = batches(packed, options.batchSize, new Rng(options.modelSeed + 1));
  const phases = [
    { phase: "pretrain" as const, steps: options.pretrainSteps, data: packed },
    { phase: "sft" as const, steps: options.sftSteps, data: sftSequences(buildSft(tasks), tokenizer) },
  ];
  const losses = { pretrain: NaN, sft: NaN };
  for (const { phase, steps, data } of phases) {
    const schedule = {
      lr: options.lr,
      schedule: "cosine" as const,
      warmupSteps: Math.ceil(steps * 0.05),
      totalSteps: steps,
      minLrRatio: 0.1,
    };
    const source = batches(data, options.batchSize, rng);
    let recent = 0;
    for (let step = 0; step < steps; step++) {
      optimizer.lr = lrAt(step, schedule);
      const loss = lmStep(model, optimizer, source.next().value!);
      recent = step === 0 ? loss : 0.95 * recent + 0.05 * loss;
      onStep?.(phase, step + 1, steps, loss);
      if (phase === "sft" && replayDue(options, step)) lmStep(model, optimizer, corpusBatches.next().value!);
    }
    losses[phase] = recent;
  }
  await saveHfModel(dir, { config, weights: model.weights(), tokenizer: files });
  const weightsSha256 = createHash("sha256")
    .update(readFileSync(join(dir, "model.safetensors")))
    .digest("hex");
  let parameters = 0;
  for (const p of params.values()) parameters += p.size;
  return { dir, parameters, weightsSha256, losses, seconds: (Date.now() - started) / 1000 };
}

/** Records how the model in `dir` was built, next to it: the recipe `seapo demo build-base` ran and the hash it produced. */
export function writeBaseRecipe(options: BaseModelOptions, summary: BaseModelSummary): void {
  const { dir, ...rest } = summary;
  const recipe = baseRecipeSchema.parse({ command: "seapo demo build-base", options, ...rest });
  writeFileAtomic(join(dir, BASE_RECIPE_FILE), `${JSON.stringify(recipe, null, 2)}\n`);
}

/** The recipe of the base model in `dir`; a folder without one is not a demo base model. */
export function readBaseRecipe(dir: string): BaseRecipe {
  const file = join(dir, BASE_RECIPE_FILE);
  if (!existsSync(file))
    throw new SeapoError(
      `${dir} is not a demo base model (no ${BASE_RECIPE_FILE}); build one with \`seapo demo build-base DIR\``,
    );
  const parsed = baseRecipeSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success)
    throw zodInputError(parsed.error, file, undefined, "expected the recipe `seapo demo build-base` writes");
  return parsed.data;
}
