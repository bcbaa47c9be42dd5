import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import { stableStringify, writeFileAtomic } from "../io/index.js";

/**
 * The settings a run's journals were made with, kept in `<out>/run.json`. Resuming with other
 * settings would mix two runs in one output, so it is refused with the fields that differ.
 */
export function checkOrWriteManifest(
  outDir: string,
  identity: Record<string, unknown>,
  extra: Record<string, unknown>,
): void {
  const file = join(outDir, "run.json");
  if (existsSync(file)) {
    const previous = (JSON.parse(readFileSync(file, "utf8")) as { identity?: Record<string, unknown> }).identity ?? {};
    const differing = Object.keys({ ...previous, ...identity }).filter(
      (key) => stableStringify(previous[key]) !== stableStringify(identity[key]),
    );
    if (differing.length > 0) {
      throw new InputError(
        file,
        undefined,
        differing.join(", "),
        "this output folder holds a run made with other settings",
        "resume with the same settings, or choose a new --out folder",
      );
    }
  }
  writeFileAtomic(file, `${JSON.stringify({ identity, ...extra }, null, 2)}\n`);
}
