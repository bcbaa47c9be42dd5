#!/usr/bin/env node
// Builds llama.cpp's `llama-server` from the source node-llama-cpp ships (llama/gitRelease.bundle), once per
// machine and node-llama-cpp version, into <cache>/seapo/llama-server/<version>/llama-server. Idempotent: a
// second run prints the cached path and exits. The last line on stdout is always the binary's path.
// `--check` builds nothing: it prints the cached path, or "build" when a build can run.
// Exit codes: 0 built, cached or buildable, 2 a build tool is missing (the message names it), 1 the build failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { cpus, homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const llamaDir = join(root, "node_modules", "node-llama-cpp", "llama");

// No web UI (it would download assets), no TLS (we only talk to 127.0.0.1), static so the binary does not
// depend on the build folder, and no -march=native so a cached binary survives a move to a sibling CPU.
const CMAKE_OPTIONS = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DBUILD_SHARED_LIBS=OFF",
  "-DGGML_NATIVE=OFF",
  "-DLLAMA_BUILD_UI=OFF",
  "-DLLAMA_USE_PREBUILT_UI=OFF",
  "-DLLAMA_OPENSSL=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_BUILD_APP=OFF",
  "-DLLAMA_BUILD_TOOLS=ON",
  "-DLLAMA_BUILD_SERVER=ON",
];

export function nodeLlamaCppVersion() {
  return JSON.parse(readFileSync(join(root, "node_modules", "node-llama-cpp", "package.json"), "utf8")).version;
}

export function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "seapo", "llama-server", nodeLlamaCppVersion());
}

export function cachedBinary() {
  const bin = join(cacheDir(), "llama-server");
  return existsSync(bin) ? bin : undefined;
}

/** The first missing tool among cmake and a C++ compiler, or undefined when all are there. */
export function missingTool() {
  if (!has("cmake", ["--version"])) return "cmake";
  const cxx = process.env.CXX || "c++";
  if (!has(cxx, ["--version"])) return `a C++ compiler (${cxx})`;
  if (!existsSync(join(llamaDir, "gitRelease.bundle"))) return "node-llama-cpp's llama/gitRelease.bundle";
  if (!has("git", ["--version"])) return "git";
  return undefined;
}

function has(cmd, args) {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

function run(cmd, args, cwd) {
  process.stderr.write(`build-llama-server: ${cmd} ${args.join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", process.stderr, process.stderr] });
  if (r.status !== 0) throw new Error(`build-llama-server: ${cmd} ${args[0]} failed (exit ${r.status ?? r.signal})`);
}

// One build at a time per cache dir; a lock left by a dead process is taken over.
function withLock(dir, fn) {
  const lock = join(dir, "build.lock");
  for (;;) {
    try {
      closeSync(openSync(lock, "wx"));
      writeFileSync(lock, String(process.pid));
      break;
    } catch {
      const pid = Number(readFileSync(lock, "utf8")) || 0;
      if (!pid || !alive(pid)) rmSync(lock, { force: true });
      else spawnSync("sleep", ["2"]);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function buildLlamaServer() {
  const cached = cachedBinary();
  if (cached) return cached;
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  return withLock(dir, () => {
    const bin = join(dir, "llama-server");
    if (existsSync(bin)) return bin; // another process built it while we waited
    const src = join(dir, "src");
    const build = join(dir, "build");
    if (!existsSync(join(src, "CMakeLists.txt"))) {
      rmSync(src, { recursive: true, force: true });
      run("git", ["clone", "--quiet", join(llamaDir, "gitRelease.bundle"), src], dir);
    }
    const generator = has("ninja", ["--version"]) ? ["-G", "Ninja"] : [];
    run("cmake", ["-S", src, "-B", build, ...generator, ...CMAKE_OPTIONS], dir);
    const jobs = String(Number(process.env.SEAPO_BUILD_JOBS) || cpus().length);
    run("cmake", ["--build", build, "--target", "llama-server", "--parallel", jobs], dir);
    const tmp = `${bin}.${process.pid}`;
    writeFileSync(tmp, readFileSync(join(build, "bin", "llama-server")), { mode: 0o755 });
    renameSync(tmp, bin);
    return bin;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cached = cachedBinary();
  if (cached) {
    process.stdout.write(`${cached}\n`);
  } else {
    const missing = missingTool();
    if (missing) {
      process.stderr.write(`build-llama-server: cannot build llama-server: ${missing} is missing\n`);
      process.exit(2);
    }
    if (process.argv.includes("--check")) {
      process.stdout.write("build\n");
      process.exit(0);
    }
    try {
      process.stdout.write(`${buildLlamaServer()}\n`);
    } catch (e) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
  }
}
