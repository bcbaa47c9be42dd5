import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../../errors.js";
import type { WeightMap } from "../models/config.js";
import {
  readSafetensorsHeader,
  SAFETENSORS_DTYPE_BYTES,
  SafetensorsFile,
  writeSafetensors,
  type SafetensorsEntry,
  type WriteDtype,
} from "./safetensors.js";

/**
 * A Hugging Face weights folder (what Transformers calls a checkpoint; in seapo "checkpoint" means only the
 * trainer's state): either one `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` ({metadata: {total_size}, weight_map: {tensor name: shard file}}).
 * Transformers looks for the single file first, so writing one layout removes the other's entry point.
 */

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

export interface WeightsIndex {
  dir: string;
  /** Absolute paths of the safetensors files, in index order. */
  files: string[];
  /** Every tensor with the file that holds it and its header entry (dtype, shape, offsets). */
  tensors: Map<string, { path: string; entry: SafetensorsEntry }>;
}

const indexSchema = z.looseObject({
  metadata: z.looseObject({ total_size: z.number().optional() }).optional(),
  weight_map: z.record(z.string(), z.string()),
});

/** Reads and validates the headers of a weights folder (no tensor data). */
export async function readWeightsIndex(dir: string): Promise<WeightsIndex> {
  const single = join(dir, SINGLE_FILE);
  const indexPath = join(dir, INDEX_FILE);
  if (existsSync(single)) {
    const header = await readSafetensorsHeader(single);
    const tensors = new Map([...header.tensors.values()].map((entry) => [entry.name, { path: single, entry }]));
    return { dir, files: [single], tensors };
  }
  if (!existsSync(indexPath)) {
    throw new InputError(
      dir,
      undefined,
      undefined,
      `no ${SINGLE_FILE} or ${INDEX_FILE} in this folder`,
      "point at a Hugging Face model folder with safetensors weights",
    );
  }
  const weightMap = parseIndex(indexPath, await readFile(indexPath, "utf8"));
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (file.includes("/") || file.includes("\\"))
      throw new InputError(
        indexPath,
        undefined,
        `weight_map.${name}`,
        `shard "${file}" must be a file name in the same folder`,
      );
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const tensors = new Map<string, { path: string; entry: SafetensorsEntry }>();
  const files: string[] = [];
  for (const [file, names] of byFile) {
    const path = join(dir, file);
    if (!existsSync(path))
      throw new InputError(indexPath, undefined, `weight_map.${names[0]}`, `shard ${file} does not exist`);
    const header = await readSafetensorsHeader(path);
    for (const name of names) {
      const entry = header.tensors.get(name);
      if (entry === undefined)
        throw new InputError(
          path,
          undefined,
          name,
          `${INDEX_FILE} places this tensor here but the shard does not hold it`,
        );
      tensors.set(name, { path, entry });
    }
    for (const name of header.tensors.keys()) {
      if (!tensors.has(name))
        throw new InputError(path, undefined, name, `the shard holds this tensor but ${INDEX_FILE} does not list it`);
    }
    files.push(path);
  }
  return { dir, files, tensors };
}

function parseIndex(path: string, text: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InputError(path, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
  const parsed = indexSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      path,
      undefined,
      issue?.path.join(".") || undefined,
      issue?.message ?? "invalid index",
      'expected {"weight_map": {tensor name: shard file}}',
    );
  }
  return parsed.data.weight_map;
}

/** Reads tensors (all, or those named) file by file, one tensor at a time; the map follows `names`' order. */
export async function readWeights(index: WeightsIndex, names?: Iterable<string>): Promise<WeightMap> {
  const wanted = new Set(names ?? index.tensors.keys());
  for (const name of wanted) {
    if (!index.tensors.has(name)) throw new InputError(index.dir, undefined, name, "no such tensor in the checkpoint");
  }
  const read: WeightMap = new Map();
  for (const path of index.files) {
    const inFile = [...index.tensors].filter(([name, where]) => where.path === path && wanted.has(name));
    if (inFile.length === 0) continue;
    const file = await SafetensorsFile.open(path);
    try {
      for (const [name] of inFile) read.set(name, await file.read(name));
    } finally {
      await file.close();
    }
  }
  return new Map([...wanted].map((name) => [name, read.get(name)!]));
}

export interface WriteWeightsOptions {
  dtype?: WriteDtype;
  /** Split into shards of at most this many tensor bytes (a single tensor larger than this gets its own shard). Default: one file. */
  maxShardBytes?: number;
}

/** Writes `weights` as model.safetensors, or as shards plus model.safetensors.index.json. Returns the file names. */
export async function writeWeights(
  dir: string,
  weights: WeightMap,
  options: WriteWeightsOptions = {},
): Promise<string[]> {
  const dtype = options.dtype ?? "F32";
  const size = SAFETENSORS_DTYPE_BYTES[dtype];
  const shards: WeightMap[] = [new Map()];
  let shardBytes = 0;
  let totalBytes = 0;
  for (const [name, tensor] of weights) {
    const bytes = tensor.data.length * size;
    const current = shards[shards.length - 1]!;
    if (options.maxShardBytes !== undefined && current.size > 0 && shardBytes + bytes > options.maxShardBytes) {
      shards.push(new Map([[name, tensor]]));
      shardBytes = bytes;
    } else {
      current.set(name, tensor);
      shardBytes += bytes;
    }
    totalBytes += bytes;
  }
  if (shards.length === 1) {
    await writeSafetensors(join(dir, SINGLE_FILE), weights, { dtype });
    await rm(join(dir, INDEX_FILE), { force: true });
    return [SINGLE_FILE];
  }
  const count = shards.length;
  const names = shards.map(
    (_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.safetensors`,
  );
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    await writeSafetensors(join(dir, names[i]!), shard, { dtype });
    for (const name of shard.keys()) weightMap[name] = names[i]!;
  }
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFile(
    join(dir, INDEX_FILE),
    `${JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: sorted }, null, 2)}\n`,
  );
  await rm(join(dir, SINGLE_FILE), { force: true });
  return [...names, INDEX_FILE];
}
