import { z } from "zod";
import { chatMessageSchema, ROLES, type ChatMessage } from "../../llm/index.js";

/** A row a format has read: a SourceRow without the parts the reader adds (line, default id). */
export interface ReadRow {
  id?: string;
  prompt: string;
  history: ChatMessage[];
  response: string;
  rejected?: string;
  meta?: Record<string, unknown>;
}

export interface SourceFormatSpec {
  /** Whether a row with these keys looks like this format; auto-detection asks the formats in table order. */
  matches(keys: ReadonlySet<string>): boolean;
  /** The row shape, shown in hints. */
  shape: string;
  /** Validates one row and normalises it; throws InvalidSourceRow naming the bad field. */
  read(value: unknown): ReadRow;
}

/** What is wrong with one input row (train/data.ts has its own for training rows). The reader adds the file and line, then throws or reports it. */
export class InvalidSourceRow extends Error {
  constructor(
    readonly field: string | undefined,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(field ? `${field}: ${problem}` : problem);
  }
}

export const nonEmptyText = z.string().refine((text) => text.trim() !== "", "is empty");
export const rowId = z.union([z.string(), z.number()]).optional();
export const chatRole = z.enum(ROLES);
export const chatMessages = z.array(chatMessageSchema);

/** Parses `value` with `schema`; the first issue becomes a InvalidSourceRow whose field is `prefix` + the issue's path. */
export function parseRow<T>(schema: z.ZodType<T>, value: unknown, prefix: PropertyKey[] = []): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = [...prefix, ...issue.path];
  return fail(fieldPath(path), describeIssue(issue, valueAt(value, issue.path)));
}

export function fail(field: string | undefined, problem: string, hint?: string): never {
  throw new InvalidSourceRow(field, problem, hint);
}

/** `["messages", 2, "role"]` → `messages[2].role`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join("");
}

export function idOf(...candidates: Array<string | number | undefined>): string | undefined {
  const found = candidates.find((candidate) => candidate !== undefined);
  return found === undefined ? undefined : String(found);
}

/**
 * Splits a conversation that ends with the answer: `history` (everything before the last user
 * turn), `prompt` (that user turn) and `response` (the final assistant turn). `where(i, key)` names
 * turn i's field in the input, so problems point at the row's own keys (`conversations[3].from`).
 */
export function splitAnswered(
  messages: ChatMessage[],
  where: TurnFields,
): { history: ChatMessage[]; prompt: string; response: string } {
  const last = messages.length - 1;
  const answer = messages[last];
  if (answer?.role !== "assistant") {
    return answer
      ? fail(where.at(last, "role"), "the conversation must end with the assistant's answer")
      : fail(where.list, "is empty");
  }
  if (answer.content.trim() === "") fail(where.at(last, "content"), "the answer is empty");
  return {
    ...splitAtLastUser(messages.slice(0, last), where, "the answer must follow a user turn"),
    response: answer.content,
  };
}

/** Splits a conversation that ends with the user turn being answered. */
export function splitAtLastUser(
  messages: ChatMessage[],
  where: TurnFields,
  notUser = "the conversation must end with the user turn being answered",
): { history: ChatMessage[]; prompt: string } {
  const last = messages.length - 1;
  const turn = messages[last];
  if (turn?.role !== "user")
    return turn ? fail(where.at(last, "role"), notUser) : fail(where.list, "holds no user turn");
  if (turn.content.trim() === "") fail(where.at(last, "content"), "the prompt is empty");
  return { history: messages.slice(0, last), prompt: turn.content };
}

export interface TurnFields {
  list: string;
  at(index: number, key: "role" | "content"): string;
}

/** Field names for a list of `{role, content}` messages under `list`. */
export function chatFields(list: string): TurnFields {
  return { list, at: (index, key) => `${list}[${index}].${key}` };
}

function describeIssue(issue: z.core.$ZodIssue, actual: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      return actual === undefined ? "missing" : `expected ${issue.expected}, got ${kindOf(actual)}`;
    case "invalid_value":
      return `unknown value ${JSON.stringify(actual)}; expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    default:
      return issue.message;
  }
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
