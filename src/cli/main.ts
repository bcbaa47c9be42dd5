#!/usr/bin/env -S node --max-semi-space-size=64
// A larger young generation: the engine allocates a fresh Float32Array per op, and with the default
// semi-space the scavenger runs so often that training spends a third of its time in GC (~20% faster).
import { Command } from "commander";
import { commandRegistrars } from "./commands/index.js";
import { SeapoError } from "../errors.js";
import { packageVersion } from "../version.js";

const program = new Command("seapo")
  .description("SeaPO: strategic error amplification for preference optimisation")
  .version(packageVersion())
  .showHelpAfterError()
  // A command's options are its own, never its parent's: `demo` and `demo build-base` both take
  // --world, and without this `demo` took the flag and build-base silently built world 1.
  .enablePositionalOptions();
for (const register of commandRegistrars) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof SeapoError) {
    console.error(`seapo: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
