/**
 * The per-arm hyperparameters the validation search chose (docs/science.md, "Validation search"). The
 * search (bench/demo/validation-search.mjs) writes them to assets/demo/tuned-world<N>.json; a run on that
 * world trains each arm with its own row unless the user sets a hyperparameter on the command line, which
 * then applies to every arm alike.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { zodInputError } from "../errors.js";
import type { WorldVersion } from "./world/index.js";

/** What the search tunes, and every arm trains with. */
export const armHyperSchema = z.strictObject({
  lr: z.number().positive(),
  beta: z.number().positive(),
  steps: z.number().int().positive(),
  /** The NLL term on the chosen answer; the trainer adds it to paired (DPO) arms only. */
  sftWeight: z.number().min(0),
  loraRank: z.number().int().positive(),
});
export type ArmHyper = z.infer<typeof armHyperSchema>;
/** Arm name → its hyperparameters. */
export type TunedArms = Record<string, ArmHyper>;

export const tunedFileSchema = z.strictObject({
  world: z.number().int(),
  /** The search that chose these rows, and where its every run is recorded. */
  search: z.string(),
  arms: z.record(z.string(), armHyperSchema),
});
export type TunedFile = z.infer<typeof tunedFileSchema>;

/** assets/demo/tuned-world<N>.json, relative to the package root (dist/demo/ → ../../assets/…). */
export function tunedFilePath(world: WorldVersion): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), `../../assets/demo/tuned-world${world}.json`);
}

/** The shipped choice for a world, or undefined where no search has been frozen for it. */
export function shippedTuned(world: WorldVersion): TunedArms | undefined {
  const file = tunedFilePath(world);
  return existsSync(file) ? readTunedFile(file).arms : undefined;
}

/** A tuned-world<N>.json, checked; a bad row names the file and the field. */
export function readTunedFile(file: string): TunedFile {
  const parsed = tunedFileSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw zodInputError(parsed.error, file, undefined);
  return parsed.data;
}

/** The hyperparameters one arm trains with: its tuned row, else the run's own settings. */
export function armHyper(options: ArmHyper & { tuned?: TunedArms }, arm: string): ArmHyper {
  const { lr, beta, steps, sftWeight, loraRank } = options;
  return options.tuned?.[arm] ?? { lr, beta, steps, sftWeight, loraRank };
}
