#!/usr/bin/env node
/**
 * Prints every option of every `seapo` command, with its default, as JSON: the fixture of
 * test/architecture/cli-options.test.ts. Usage: node scripts/cli-options.mjs [DIST_DIR]
 * (default: this checkout's dist/). Run it on an older build to record what the CLI offered then.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = resolve(process.argv[2] ?? new URL("../dist", import.meta.url).pathname);
const { Command } = await import(pathToFileURL(resolve(dist, "../node_modules/commander/index.js")).href);
const { commandRegistrars } = await import(pathToFileURL(resolve(dist, "cli/commands/index.js")).href);

const root = resolve(dist, "..");
/** Defaults that are paths inside the package are written relative to it, so the file is the same on every machine. */
const portable = (value) =>
  typeof value === "string" && value.startsWith(root) ? `<package>${value.slice(root.length)}` : value;

const program = new Command("seapo");
for (const register of commandRegistrars) register(program);

function walk(command, path, out) {
  const name = [...path, command.name()].join(" ");
  out[name] = command.options.map((option) => ({
    flags: option.flags,
    description: option.description,
    ...(option.defaultValue === undefined ? {} : { default: portable(option.defaultValue) }),
    ...(option.argChoices ? { choices: option.argChoices } : {}),
  }));
  for (const sub of command.commands) walk(sub, [...path, command.name()], out);
  return out;
}

console.log(JSON.stringify(walk(program, [], {}), null, 1));
