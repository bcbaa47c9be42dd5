// Builds the optional native CPU kernels (build/Release/seapo_native.node). Runs at `npm install` and
// must never fail it: on any error it prints one warning line and the engine falls back to its
// TypeScript backend.
//
//   node scripts/build-native.mjs [--verbose]      (SEAPO_SKIP_NATIVE=1 skips the build)
//
// No -march flag is needed: one binary carries AVX-512, AVX2 and baseline kernels and picks one at
// load time from what the CPU reports, so a build made on one machine runs on any x86-64.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const verbose = process.argv.includes("--verbose");
const logPath = join(root, "build", "native-build.log");

function nodeGypCommand() {
  // npm exports the path of its bundled node-gyp to lifecycle scripts; a dev checkout has its own.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return [process.execPath, [bundled]];
  const local = join(root, "node_modules", "node-gyp", "bin", "node-gyp.js");
  if (existsSync(local)) return [process.execPath, [local]];
  return ["npx", ["--no-install", "node-gyp"]];
}

// Outside npm, node-gyp would download Node's headers; use the running Node's own when they are installed.
function nodedirFlags() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

function firstError(output) {
  const lines = output.split("\n").map((line) => line.trim());
  return (
    lines.find((line) => /\berror\b:/i.test(line) && !line.startsWith("gyp")) ??
    lines.find((line) => line.startsWith("gyp ERR! stack Error:"))?.replace("gyp ERR! stack ", "") ??
    lines.find((line) => line.startsWith("gyp ERR!"))
  );
}

function warn(reason) {
  console.warn(`seapo: native kernels not built (${reason}); the TypeScript backend will be used.`);
}

function main() {
  if (process.env.SEAPO_SKIP_NATIVE === "1" || !existsSync(join(root, "binding.gyp"))) return;
  const [command, prefix] = nodeGypCommand();
  const build = spawnSync(command, [...prefix, "rebuild", ...nodedirFlags()], {
    cwd: root,
    encoding: "utf8",
    stdio: verbose ? "inherit" : "pipe",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (build.error || build.status !== 0) {
    const output = `${build.stdout ?? ""}${build.stderr ?? ""}`;
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, output);
    warn(build.error ? build.error.message : `${firstError(output) ?? `exit ${build.status}`}; full log: ${logPath}`);
    return;
  }
  // Load it once in a separate process, so a binary that builds but cannot load is reported now.
  const probe = spawnSync(
    process.execPath,
    [
      "-e",
      "const k = require(process.argv[1]); console.log(`${k.variants.join(', ')}; ${k.threads} threads`)",
      join(root, "build", "Release", "seapo_native.node"),
    ],
    // A forced variant (SEAPO_NATIVE_ISA) is a choice for runs, not for the build's own load check.
    { encoding: "utf8", env: { ...process.env, SEAPO_NATIVE_ISA: "auto" } },
  );
  if (probe.status !== 0) {
    warn(`it built but does not load: ${(probe.stderr ?? "").trim().split("\n")[0]}`);
    return;
  }
  console.log(`seapo: native kernels built (variants ${probe.stdout.trim()})`);
}

try {
  main();
} catch (error) {
  warn(error instanceof Error ? error.message : String(error));
}
process.exit(0);
