#!/usr/bin/env node
import { Command } from "commander";
import { commandRegistrars } from "./commands/index.js";
import { SeapoError } from "../errors.js";
import { packageVersion } from "./version.js";

const program = new Command("seapo")
  .description("SeaPO: strategic error amplification for preference optimisation")
  .version(packageVersion())
  .showHelpAfterError();
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
