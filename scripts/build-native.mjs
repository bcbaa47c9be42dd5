// Builds the optional native CPU backend. The install must never fail because of it:
// on any error the engine falls back to the TypeScript backend.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (process.env.SEAPO_SKIP_NATIVE === "1" || !existsSync("binding.gyp")) process.exit(0);
const result = spawnSync("npx", ["--no-install", "node-gyp", "rebuild"], { stdio: "inherit" });
if (result.status !== 0) {
  console.warn("seapo: the native backend did not build; the TypeScript backend will be used.");
}
process.exit(0);
