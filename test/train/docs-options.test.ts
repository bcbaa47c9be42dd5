/**
 * docs/training.md's "Options in each engine" table says how every `seapo train` option reaches TRL
 * and LLaMA-Factory. This keeps the table complete as options are added: each flag of the built CLI
 * (read as scripts/cli-options.mjs reads it) must have a row.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

const script = new URL("../../scripts/cli-options.mjs", import.meta.url).pathname;
const options = JSON.parse(execFileSync(process.execPath, [script], { encoding: "utf8" })) as Record<
  string,
  Array<{ flags: string }>
>;
const docs = readFileSync(new URL("../../docs/training.md", import.meta.url), "utf8");
const table = docs.split("### Options in each engine")[1]!.split("\n### ")[0]!;

it("docs/training.md maps every seapo train option to its TRL and LLaMA-Factory key", () => {
  const flags = options["seapo train"]!.map((option) => /--[a-z0-9-]+/.exec(option.flags)![0]);
  expect(flags.length).toBeGreaterThan(30);
  const missing = flags.filter((flag) => !table.includes("`" + flag));
  expect(missing).toEqual([]);
});
