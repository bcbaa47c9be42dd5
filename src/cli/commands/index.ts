import type { Command } from "commander";

/** Every `seapo` subcommand registers itself here: one import and one entry per command. */
export const commandRegistrars: Array<(program: Command) => void> = [];
