import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTinyLlamaGguf, type TinyLlamaOptions } from "./gguf/tiny-llama.js";

/**
 * A tiny random Llama GGUF for tests that need a real model (see test/helpers/gguf/tiny-llama.ts).
 * Each distinct set of options is written once per test process into one temp dir, removed at exit.
 */
const written = new Map<string, Promise<string>>();
let directory: string | undefined;

export function tinyGgufPath(options: Partial<TinyLlamaOptions> = {}): Promise<string> {
  const resolved: TinyLlamaOptions = { seed: 1, ...options };
  const key = JSON.stringify(Object.entries(resolved).sort(([a], [b]) => a.localeCompare(b)));
  let path = written.get(key);
  if (!path) {
    if (!directory) {
      const created = mkdtempSync(join(tmpdir(), "seapo-tiny-gguf-"));
      directory = created;
      process.once("exit", () => rmSync(created, { recursive: true, force: true }));
    }
    const file = join(directory, `tiny-${written.size}.gguf`);
    path = writeTinyLlamaGguf(file, resolved).then(() => file);
    written.set(key, path);
  }
  return path;
}
