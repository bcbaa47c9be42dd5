/**
 * Command-line values checked by the schema they were generated from (schema-options.ts): ranges
 * and kinds are the schema's, and a bad value is reported with the flag the user typed.
 */
import type { Command } from "commander";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { typedFlags, type FlagMeta } from "./schema-options.js";

/** What the user typed, with the schema's defaults for the rest. */
export function parseFlags<S extends z.ZodObject>(schema: S, command: Command): z.output<S> {
  return parseFlagValues(schema, typedFlags(schema, command));
}

export function parseFlagValues<S extends z.ZodObject>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError("command line", undefined, flagAt(schema, issue.path), issue.message);
}

/** The flag of the field at `path` (its `.meta().flag`, else the kebab-case path). */
function flagAt(schema: z.ZodObject, path: readonly PropertyKey[]): string {
  let node: z.ZodType = schema;
  for (const key of path) {
    const inner = peel(node);
    if (inner.def.type !== "object") break;
    const next = (inner as z.ZodObject).shape[String(key)] as z.ZodType | undefined;
    if (!next) break;
    node = next;
  }
  const flag = (node.meta() as FlagMeta | undefined)?.flag;
  return (
    flag?.split(" ")[0] ??
    `--${path.map((key) => String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join("-")}`
  );
}

function peel(schema: z.ZodType): z.ZodType {
  let node = schema;
  for (;;) {
    const def = node.def as { type: string; innerType?: z.ZodType };
    if (!def.innerType || !["default", "prefault", "optional", "nullable"].includes(def.type)) return node;
    node = def.innerType;
  }
}
