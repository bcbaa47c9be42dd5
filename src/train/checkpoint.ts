/**
 * Training checkpoints, written atomically: everything goes into a temporary folder, which is then
 * renamed to `<out>/checkpoints/step-NNNNNN`. A folder with that name is therefore complete; a
 * killed run leaves at most a `.tmp-*` folder, which the next save or resume ignores.
 *
 *   params.safetensors     trainable tensors (the adapter, or every weight in full fine-tuning)
 *   optimizer.safetensors  AdamW moments as m/<name> and v/<name>
 *   state.json             step, per-parameter optimizer step counts, lr, seed, data hash, config hash
 *
 * The data position and every random stream are functions of (seed, step): the batch plan is
 * rebuilt from the seed and the dropout streams are reseeded per micro-batch, so the step number
 * is the whole of the RNG state and data position.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AdamWState, readSafetensors, type Tensor, type WeightMap, writeSafetensors } from "../engine/index.js";
import { z } from "zod";
import { SeapoError } from "../errors.js";

export const CHECKPOINT_DIR = "checkpoints";
const NAME = /^step-(\d+)$/;

const trainerStateSchema = z.strictObject({
  /** Optimizer steps completed. */
  step: z.number().int().min(0),
  totalSteps: z.number().int().min(0),
  seed: z.number().int(),
  dataHash: z.string(),
  /** Hash of the settings a resumed run must share (data plan, loss, model, optimizer). */
  configHash: z.string(),
});
export type TrainerState = z.infer<typeof trainerStateSchema>;

/** state.json of a checkpoint: the trainer state plus what AdamW needs beside its moments. */
const stateFileSchema = trainerStateSchema.extend({
  lr: z.number(),
  /** Per parameter name, the optimizer steps its moments have seen. */
  optimizerSteps: z.record(z.string(), z.number().int().min(0)),
});
type StateFile = z.infer<typeof stateFileSchema>;

export interface Checkpoint {
  dir: string;
  state: TrainerState;
  params: WeightMap;
  optimizer: AdamWState;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/** Writes one checkpoint, then removes all but the newest `keep`. Returns its folder. */
export async function saveCheckpoint(
  outDir: string,
  state: TrainerState,
  params: Map<string, Tensor>,
  optimizer: AdamWState,
  keep: number,
): Promise<string> {
  const root = join(outDir, CHECKPOINT_DIR);
  await mkdir(root, { recursive: true });
  const final = join(root, checkpointName(state.step));
  const tmp = join(root, `.tmp-${checkpointName(state.step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await mkdir(tmp);

  const weights: WeightMap = new Map([...params].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }]));
  await writeSafetensors(join(tmp, "params.safetensors"), weights);
  const moments: WeightMap = new Map();
  const steps: Record<string, number> = {};
  for (const [name, s] of Object.entries(optimizer.params)) {
    moments.set(`m/${name}`, { shape: [s.m.length], data: s.m });
    moments.set(`v/${name}`, { shape: [s.v.length], data: s.v });
    steps[name] = s.step;
  }
  await writeSafetensors(join(tmp, "optimizer.safetensors"), moments);
  const stateFile: StateFile = { ...state, lr: optimizer.lr, optimizerSteps: steps };
  await writeFile(join(tmp, "state.json"), `${JSON.stringify(stateFile, null, 2)}\n`);
  for (const file of ["params.safetensors", "optimizer.safetensors", "state.json"]) syncFile(join(tmp, file));

  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  for (const old of listCheckpoints(outDir).slice(0, -keep))
    rmSync(join(root, checkpointName(old)), { recursive: true, force: true });
  return final;
}

/** Completed checkpoint steps, oldest first. */
export function listCheckpoints(outDir: string): number[] {
  const root = join(outDir, CHECKPOINT_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => NAME.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
}

/** The newest checkpoint under outDir, or undefined when there is none. */
export async function loadLatestCheckpoint(outDir: string): Promise<Checkpoint | undefined> {
  const step = listCheckpoints(outDir).at(-1);
  if (step === undefined) return undefined;
  const dir = join(outDir, CHECKPOINT_DIR, checkpointName(step));
  const parsed = stateFileSchema.safeParse(JSON.parse(await readFile(join(dir, "state.json"), "utf8")));
  if (!parsed.success)
    throw new SeapoError(
      `checkpoint ${dir}: state.json is not a seapo train state (${parsed.error.issues[0]!.message})`,
    );
  const raw = parsed.data;
  const { weights: params } = await readSafetensors(join(dir, "params.safetensors"));
  const { weights: moments } = await readSafetensors(join(dir, "optimizer.safetensors"));
  const optimizer: AdamWState = { lr: raw.lr, params: {} };
  for (const [name, count] of Object.entries(raw.optimizerSteps)) {
    const m = moments.get(`m/${name}`);
    const v = moments.get(`v/${name}`);
    if (m === undefined || v === undefined)
      throw new SeapoError(`checkpoint ${dir}: optimizer state for ${name} is missing`);
    optimizer.params[name] = { step: count, m: m.data, v: v.data };
  }
  const { lr: _lr, optimizerSteps: _steps, ...state } = raw;
  return { dir, state, params, optimizer };
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
