import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { InputError, zodInputError } from "../errors.js";
import { stableStringify, writeFileAtomic } from "../io/index.js";

/** inject and analyze keep the settings their journals were made with here (train's run.json is another file). */
export const MANIFEST_FILE = "manifest.json";

export const runManifestSchema = z.object({
  /** The settings a resumed run must repeat. */
  identity: z.record(z.string(), z.unknown()),
  command: z.enum(["inject", "analyze"]),
  updatedAt: z.string(),
});
export type RunManifest = z.infer<typeof runManifestSchema>;

/**
 * Writes `<out>/manifest.json`. Resuming with other settings would mix two runs in one output, so
 * it is refused with the fields that differ (but for those in `mayChange`, which a re-run may set anew).
 */
export function checkOrWriteManifest(outDir: string, manifest: RunManifest, mayChange: readonly string[] = []): void {
  const file = join(outDir, MANIFEST_FILE);
  if (existsSync(file)) {
    const previous = readManifest(file).identity;
    const differing = Object.keys({ ...previous, ...manifest.identity }).filter(
      (key) => !mayChange.includes(key) && stableStringify(previous[key]) !== stableStringify(manifest.identity[key]),
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
  writeFileAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

function readManifest(file: string): RunManifest {
  const parsed = runManifestSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success)
    throw zodInputError(parsed.error, file, undefined, "expected the manifest of seapo inject or analyze");
  return parsed.data;
}
