// PyTorch for bench/train: find a python3 that imports torch, or install Debian's python3-torch once
// (with OpenBLAS, best effort), and point it at OpenBLAS when that is installed.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const pythons = ["python3", "/usr/bin/python3"];
const findTorchPython = () =>
  pythons.find((py) => spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0);

function aptInstall(pkg) {
  const apt = spawnSync("apt-get", ["install", "-y", "-q", pkg], {
    encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (apt.status === 0) return undefined;
  const why = apt.error?.message ?? (apt.stderr ?? "").split("\n").find((line) => line.startsWith("E:"));
  return why ?? `exit ${apt.status}`;
}

export function torchPython() {
  let python = findTorchPython();
  if (python !== undefined) return { python };
  console.log("PyTorch is not importable; trying `apt-get install -y python3-torch` once…");
  const failed = aptInstall("python3-torch");
  if (failed !== undefined) return { note: `PyTorch unavailable: apt-get install python3-torch failed (${failed})` };
  // Debian's torch calls whatever libblas.so.3 points at; apt may have resolved it to the unoptimised netlib BLAS.
  if (openblasDir() === undefined) {
    const noBlas = aptInstall("libopenblas0-pthread");
    if (noBlas !== undefined)
      console.log(`(apt-get install libopenblas0-pthread failed: ${noBlas}; PyTorch may run on the netlib BLAS)`);
  }
  python = findTorchPython();
  return python === undefined
    ? { note: `PyTorch unavailable: installed, but none of ${pythons.join(", ")} imports torch` }
    : { python };
}

/** Debian's OpenBLAS build of libblas.so.3 (libopenblas0-pthread), if installed. */
function openblasDir() {
  const lib = "/usr/lib";
  if (!existsSync(lib)) return undefined;
  return readdirSync(lib)
    .filter((d) => d.endsWith("-linux-gnu"))
    .map((d) => join(lib, d, "openblas-pthread"))
    .find((d) => existsSync(join(d, "libblas.so.3")));
}

/**
 * The PyTorch process runs on OpenBLAS when it is installed, even where the system's libblas.so.3
 * alternative still points at netlib (a no-op where it already is OpenBLAS). LD_LIBRARY_PATH set by
 * the caller is left alone, so another BLAS can be chosen that way.
 */
export function torchBlasEnv() {
  if (process.env.LD_LIBRARY_PATH)
    return { env: {}, how: `LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH} (from the environment)` };
  const dir = openblasDir();
  return dir === undefined
    ? { env: {}, how: "the system's libblas.so.3" }
    : { env: { LD_LIBRARY_PATH: dir }, how: `LD_LIBRARY_PATH=${dir}` };
}
