import { z } from "zod";
import type { ChatMessage } from "../llm/index.js";
import type { ErrorType } from "./error-types.js";

/**
 * The prompts seapo sends, in our own words. Each has a version recorded with every row it
 * produces; change the text, bump the version (the request cache keys on the text itself).
 */
export const INJECTION_TEMPLATE_VERSION = "inject-v1";
export const JUDGE_TEMPLATE_VERSION = "judge-v1";

export interface QuestionAndAnswer {
  prompt: string;
  history: ChatMessage[];
  response: string;
}

/** One user turn: the task, the question, the original answer, the error type and the rules. */
export function injectionMessages(row: QuestionAndAnswer, type: ErrorType): ChatMessage[] {
  const examples = type.examples?.length ? `\nFor example:\n${type.examples.map((e) => `- ${e}`).join("\n")}\n` : "";
  const text = `We are building training data that teaches a language model to avoid a specific kind of mistake. Below is a question and a good answer to it. Rewrite the answer so that it contains exactly one deliberate error of the type described, and leave everything else as it is.

Error type: ${type.name}
Meaning: ${type.description}
${examples}
Rules:
- Introduce exactly one error of this type. It should read naturally, as if the writer believed it.
- Keep the tone, format and length of the original answer.
- Do not point out, mark or explain the error, and add no notes or comments.
- Reply with the rewritten answer only, with no preamble.
${conversation(row.history)}
### Question
${row.prompt}

### Original answer
${row.response}

### Rewritten answer`;
  return [{ role: "user", content: text }];
}

export const injectionCheckSchema = z.object({
  contains_error: z.boolean(),
  error_type: z.string(),
  explanation: z.string(),
});

/** Asks a judge whether a rewritten answer really carries the intended error. */
export function injectionCheckMessages(row: QuestionAndAnswer, negative: string, type: ErrorType): ChatMessage[] {
  const text = `You check training data. A good answer to a question was rewritten so that it would contain one error of the type below. Decide whether the rewritten answer contains an error of this type that the original does not.

Error type: ${type.name}
Meaning: ${type.description}

### Question
${row.prompt}

### Original answer
${row.response}

### Rewritten answer
${negative}

Reply with JSON only: {"contains_error": true or false, "error_type": the type of the main new error (or "none"), "explanation": one sentence}.`;
  return [{ role: "user", content: text }];
}

/** Asks a judge to classify a model's answer against a reference, for `seapo analyze`. */
export function classificationMessages(
  row: { prompt: string; response: string; reference: string },
  types: readonly ErrorType[],
): ChatMessage[] {
  const list = types.map((t) => `- ${t.name}: ${t.description}`).join("\n");
  const text = `You grade a model's answer against a reference answer. First decide whether the model's answer is correct. If it is wrong, name the one error type below that best explains the main mistake.

Error types:
${list}

### Question
${row.prompt}

### Reference answer
${row.reference}

### Model's answer
${row.response}

Reply with JSON only: {"correct": true or false, "error_type": one of ${types.map((t) => `"${t.name}"`).join(", ")} or "none" when correct, "explanation": one sentence}.`;
  return [{ role: "user", content: text }];
}

export const classificationSchema = z.object({
  correct: z.boolean(),
  error_type: z.string(),
  explanation: z.string(),
});

function conversation(history: ChatMessage[]): string {
  if (history.length === 0) return "";
  const turns = history.map((turn) => `[${turn.role}] ${turn.content}`).join("\n\n");
  return `\n### Conversation before the question\n${turns}\n`;
}
