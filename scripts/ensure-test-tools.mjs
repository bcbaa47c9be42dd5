// Part of `npm test`: the system tools some tests drive, which npm cannot install.
// - Debian's chromium: the report test renders the HTML report headless.
// - bubblewrap: the HumanEval sandbox's jail (without it the escape tests are skipped, loudly).
// - cmake, ninja and a compiler: to build llama.cpp's llama-server from node-llama-cpp's bundled
//   source for the real-server test; built once per machine and node-llama-cpp version into the
//   user cache (scripts/build-llama-server.mjs), so only the first run pays its minutes.
// When a package is missing and this runs as root with apt, it is installed (as the benchmarks
// install python3-torch); otherwise the message says exactly what to install. Nothing else is installed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { buildLlamaServer, missingTool } from "./build-llama-server.mjs";

const browser = process.env.SEAPO_CHROMIUM ?? "/usr/bin/chromium";
const has = (cmd) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;

/** Debian package → whether it is already there. Chromium is required; the others only unlock tests. */
const packages = [
  { name: "chromium", present: existsSync(browser), required: true },
  { name: "bubblewrap", present: has("bwrap"), required: false },
  { name: "cmake", present: has("cmake"), required: false },
  { name: "ninja-build", present: has("ninja"), required: false },
];

const missing = packages.filter((p) => !p.present);
if (missing.length > 0) {
  const names = missing.map((p) => p.name);
  const canApt = process.getuid?.() === 0 && spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;
  if (canApt) {
    console.error(`seapo: installing Debian's ${names.join(", ")} for the tests (apt-get install)`);
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...names], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  } else {
    console.error(`seapo: some tests need Debian's ${names.join(", ")} (apt-get install ${names.join(" ")})`);
    if (missing.some((p) => p.required)) {
      console.error(`seapo: the report test needs Chromium at ${browser}, or set SEAPO_CHROMIUM`);
      process.exit(1);
    }
  }
}

const tool = missingTool();
if (tool) console.error(`seapo: the real llama-server test will be skipped: ${tool} is missing`);
else buildLlamaServer();
