/**
 * Command-line options generated from a zod object schema, so each option's name, help line,
 * choices and printed default live in one place: the schema field. A field takes part when it has
 * a description (`.meta({ description })` or `.describe()`); the others are for config files only.
 * Nested objects become prefixed flags (`lora.rank` → `--lora-rank`).
 */
import { Option, type Command } from "commander";
import type { z } from "zod";
import { InputError } from "../errors.js";

/** The CLI's part of a field's `.meta()`. */
export interface FlagMeta {
  description?: string;
  /** The flag with its placeholder, when the field's name does not give it (e.g. "--no-bucketing"). */
  flag?: string;
  /** The command line must give it (commander says so before anything runs). */
  mandatory?: boolean;
  /** A list flag that may be given several times; the values add up (e.g. --base-url A --base-url B). */
  repeatable?: boolean;
}

interface SchemaOption {
  option: Option;
  /** Where the value goes in the schema's input. */
  path: string[];
}

type AnySchema = z.ZodType;

/** Adds the schema's options to a command, leaving out the long flags named in `except`. */
export function addSchemaOptions(command: Command, schema: z.ZodObject, except: readonly string[] = []): Command {
  for (const { option } of schemaOptions(schema)) if (!except.includes(option.long!)) command.addOption(option);
  return command;
}

/**
 * The schema's input from the flags the user typed: values that only hold commander's defaults are
 * left out, so a config file's values and the schema's defaults survive.
 */
export function typedFlags(schema: z.ZodObject, command: Command): Record<string, unknown> {
  const values = command.opts();
  const input: Record<string, unknown> = {};
  for (const { option, path } of schemaOptions(schema)) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== "cli") continue;
    setPath(input, path, values[key]);
  }
  return input;
}

/** What the user typed, with the schema's defaults for the rest; a bad value names its flag. */
export function parseFlags<S extends z.ZodObject>(schema: S, command: Command): z.output<S> {
  return parseFlagValues(schema, typedFlags(schema, command));
}

export function parseFlagValues<S extends z.ZodObject>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new InputError("command line", undefined, flagAt(schema, issue.path), issue.message);
}

/** The flag of the field at `path`: its `.meta().flag`, else the kebab-case path. */
function flagAt(schema: z.ZodObject, path: readonly PropertyKey[]): string {
  let node: AnySchema = schema;
  for (const key of path) {
    const { base } = unwrap(node);
    const next = base.def.type === "object" ? (base as z.ZodObject).shape[String(key)] : undefined;
    if (!next) break;
    node = next as AnySchema;
  }
  const flag = (node.meta() as FlagMeta | undefined)?.flag;
  return flag?.split(" ")[0] ?? `--${kebab(path.map(String).join("-"))}`;
}

function schemaOptions(schema: z.ZodObject, prefix: string[] = []): SchemaOption[] {
  const options: SchemaOption[] = [];
  for (const [name, field] of Object.entries(schema.shape as Record<string, AnySchema>)) {
    const path = [...prefix, name];
    const { base, defaultValue } = unwrap(field);
    const meta = (field.meta() ?? {}) as FlagMeta;
    if (base.def.type === "object" && meta.description === undefined) {
      options.push(...schemaOptions(base as z.ZodObject, path));
    } else if (meta.description !== undefined) {
      options.push({ option: fieldOption(path, base, defaultValue, meta), path });
    }
  }
  return options;
}

function fieldOption(path: string[], base: AnySchema, defaultValue: unknown, meta: FlagMeta): Option {
  const type = base.def.type;
  const name = `--${kebab(path.join("-"))}`;
  const flag =
    meta.flag ??
    (type === "boolean"
      ? defaultValue === true
        ? `--no-${kebab(path.join("-"))}`
        : name
      : `${name} <${placeholder(type)}>`);
  const option = new Option(flag, meta.description);
  const choices = enumValues(base);
  if (choices) option.choices(choices);
  if (type === "number") option.argParser(numberArg(flag.split(" ")[0]!));
  if (type === "array") {
    const split = (value: string) => value.split(",").map((item) => item.trim());
    if (meta.repeatable)
      option.argParser((value: string, previous?: string[]) => [...(previous ?? []), ...split(value)]);
    else option.argParser(split);
  }
  // A switch's default is its absence; commander already defaults a --no-* switch to true.
  if (defaultValue !== undefined && type !== "boolean") {
    option.default(defaultValue, defaultText(defaultValue));
  }
  if (meta.mandatory) option.makeOptionMandatory();
  return option;
}

/** How help prints a default, where commander's JSON would read badly (lists, 5e-6). */
function defaultText(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.join(",");
  if (typeof value === "number" && value !== 0 && Math.abs(value) < 1e-3) return value.toExponential();
  return undefined;
}

/** Peels default/prefault/optional wrappers off a field, keeping the default they carry. */
function unwrap(field: AnySchema): { base: AnySchema; defaultValue: unknown } {
  let base = field;
  let defaultValue: unknown;
  for (;;) {
    const def = base.def as { type: string; innerType?: AnySchema; defaultValue?: unknown };
    if (def.type === "default" || def.type === "prefault") defaultValue ??= def.defaultValue;
    if (!def.innerType || !["default", "prefault", "optional", "nullable"].includes(def.type)) break;
    base = def.innerType;
  }
  return { base, defaultValue };
}

function enumValues(base: AnySchema): string[] | undefined {
  const def = base.def as { type: string; entries?: Record<string, string> };
  return def.type === "enum" ? Object.values(def.entries!) : undefined;
}

function placeholder(type: string): string {
  return type === "number" ? "n" : type === "array" ? "list" : "value";
}

/** A number flag; the schema checks its range once every source of options is merged. */
export function numberArg(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n))
      throw new InputError(flag, undefined, undefined, `expected a number, got "${value}"`);
    return n;
  };
}

/** A whole-number flag in [min, max], for commands whose options have no schema. */
export function integerArg(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max)
      throw new InputError(flag, undefined, undefined, `expected an integer ${range}, got "${value}"`);
    return n;
  };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
