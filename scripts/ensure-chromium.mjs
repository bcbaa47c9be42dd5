// Part of `npm test`: the report test drives Debian's headless Chromium, which npm cannot install.
// When it is missing and this runs as root with apt, install it (as the benchmarks install
// python3-torch); otherwise say exactly what to install. Never installs anything else.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const browser = process.env.SEAPO_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(browser)) {
  const canApt = process.getuid?.() === 0 && spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status === 0;
  if (!canApt) {
    console.error(
      `seapo: the report test needs Chromium at ${browser}; install Debian's chromium (apt-get install chromium) or set SEAPO_CHROMIUM`,
    );
    process.exit(1);
  }
  console.error("seapo: installing Debian's chromium for the report test (apt-get install chromium)");
  execFileSync("apt-get", ["update"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}
