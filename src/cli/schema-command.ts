import type { Command } from "commander";
import type { z } from "zod";
import { addSchemaOptions, parseFlags } from "./schema-options.js";

export interface SchemaCommand<S extends z.ZodObject> {
  name: string;
  summary: string;
  description: string;
  /** Every option of the command (see schema-options.ts). */
  schema: S;
  /** Runs with the typed flags over the schema's defaults. */
  run(flags: z.output<S>): Promise<void>;
}

/** A command whose options, help and checks all come from one zod schema. */
export function addSchemaCommand<S extends z.ZodObject>(program: Command, spec: SchemaCommand<S>): Command {
  const command = program.command(spec.name).summary(spec.summary).description(spec.description);
  return addSchemaOptions(command, spec.schema).action((_options: unknown, cmd: Command) =>
    spec.run(parseFlags(spec.schema, cmd)),
  );
}
