import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { InputError } from "../errors.js";

/** An error type is data: a name, a one-line description the injector reads, optional examples. */
export interface ErrorType {
  name: string;
  description: string;
  examples?: string[];
}

/** The names of the paper's three types: the one list every part of seapo (checker, demo, report) uses. */
export const BUILTIN_ERROR_TYPES = ["correctness", "logic", "hallucination"] as const;
export type BuiltinErrorType = (typeof BUILTIN_ERROR_TYPES)[number];

/** The paper's three types, defined in our own words. */
export const builtinErrorTypes: ReadonlyArray<ErrorType & { name: BuiltinErrorType }> = [
  {
    name: "correctness",
    description:
      "a wrong fact or a wrong calculation: an incorrect statement, a miscalculated number, a misapplied formula or tool, or a mistranslation",
    examples: ["Question: why drink water every day? Error: “you only need to drink water once a week.”"],
  },
  {
    name: "logic",
    description:
      "flawed reasoning: a contradiction, a conclusion that does not follow from what came before, a circular argument, or steps in the wrong order",
    examples: ["Question: why drink water every day? Error: “water is wet, so drinking it makes you wetter.”"],
  },
  {
    name: "hallucination",
    description: "invented content: an entity, fact, citation, source or detail that does not exist",
    examples: ["Question: why drink water every day? Error: “water carries tiny robots that repair your bones.”"],
  },
];

const errorTypeSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, "use lower-case letters, digits, '-' or '_', starting with a letter"),
  description: z.string().trim().min(1, "must not be empty"),
  examples: z.array(z.string()).optional(),
});
const errorTypesFileSchema = z.union([
  z.array(errorTypeSchema),
  z.object({ types: z.array(errorTypeSchema) }).transform((file) => file.types),
]);

/**
 * Reads user-defined types from YAML or JSON (YAML is a superset): a list of {name, description,
 * examples?}, or {types: [...]}. They join the built-in ones; a user type with a built-in name replaces it.
 */
export async function loadErrorTypes(file?: string): Promise<ErrorType[]> {
  const types = new Map<string, ErrorType>(builtinErrorTypes.map((type) => [type.name, type]));
  if (!file) return [...types.values()];
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InputError(file, undefined, undefined, `cannot read the error-types file (${(error as Error).message})`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new InputError(file, first.linePos?.[0]?.line, undefined, `not valid YAML/JSON: ${first.message}`);
  }
  const parsed = errorTypesFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const node = doc.getIn(issue.path as Array<string | number>, true) as
      { range?: [number, number, number] } | undefined;
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    throw new InputError(file, line, formatPath(issue.path), issue.message, "each type needs a name and a description");
  }
  for (const type of parsed.data) types.set(type.name, type);
  return [...types.values()];
}

export function findErrorType(types: readonly ErrorType[], name: string, source = "--strategy"): ErrorType {
  const type = types.find((candidate) => candidate.name === name);
  if (!type) {
    throw new InputError(
      source,
      undefined,
      undefined,
      `unknown error type "${name}"`,
      `known types: ${types.map((t) => t.name).join(", ")}`,
    );
  }
  return type;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : `${i ? "." : ""}${String(part)}`)).join("");
}
