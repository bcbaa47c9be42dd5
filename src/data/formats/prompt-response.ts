import { z } from "zod";
import type { ChatMessage } from "../../llm/index.js";
import {
  chatFields,
  chatMessages,
  fail,
  idOf,
  nonEmptyText,
  parseRow,
  rowId,
  splitAnswered,
  type SourceFormatSpec,
} from "./shared.js";

// Schemas are built once: zod compiles an object schema on first use, which costs far more than a parse.
const plainRow = z.object({ id: rowId, prompt: nonEmptyText, response: nonEmptyText });

/** `{id?, prompt, response}`: the simplest input. */
export const plain: SourceFormatSpec = {
  matches: (keys) => keys.has("prompt") || keys.has("response"),
  shape: '{"id"?: string | number, "prompt": string, "response": string}',
  read(value) {
    const row = parseRow(plainRow, value);
    return { id: idOf(row.id), prompt: row.prompt, history: [], response: row.response };
  },
};

const answer = z.union([z.string(), z.array(z.unknown())], {
  error: "expected a string or a list of {role, content} messages",
});

const ultrafeedbackRow = z.object({
  id: rowId,
  source_index: rowId,
  prompt_id: rowId,
  prompt: nonEmptyText.optional(),
  chosen: answer,
  rejected: answer.optional(),
  score_chosen: z.number().optional(),
  score_rejected: z.number().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/**
 * UltraFeedback-binarized rows: `chosen`/`rejected` are strings (flattened copies) or message lists
 * (the HF dataset, where the list repeats the user turn). `prompt` may be left out when `chosen`
 * is a list, as in trl-lib's copy; the list's last user turn is the prompt then.
 */
export const ultrafeedback: SourceFormatSpec = {
  matches: (keys) => keys.has("chosen"),
  shape:
    '{"prompt": string, "chosen": string | messages, "rejected"?: string | messages, "source_index"?, "score_chosen"?, "score_rejected"?}',
  read(value) {
    const row = parseRow(ultrafeedbackRow, value);
    let conversation: { history: ChatMessage[]; prompt?: string; response: string };
    if (typeof row.chosen === "string") {
      if (row.prompt === undefined) fail("prompt", "missing", "a prompt is needed when chosen is a plain string");
      if (row.chosen.trim() === "") fail("chosen", "is empty");
      conversation = { history: [], response: row.chosen };
    } else {
      conversation = splitAnswered(parseRow(chatMessages, row.chosen, ["chosen"]), chatFields("chosen"));
    }
    // Scores sit at the top level in the HF dataset and inside metadata in flattened copies.
    const scores = Object.entries({ score_chosen: row.score_chosen, score_rejected: row.score_rejected }).filter(
      ([, v]) => v !== undefined,
    );
    const meta = { ...row.metadata, ...Object.fromEntries(scores) };
    return {
      id: idOf(row.source_index, row.prompt_id, row.id),
      prompt: row.prompt ?? conversation.prompt!,
      history: conversation.history,
      response: conversation.response,
      ...(row.rejected !== undefined && { rejected: lastAnswer(row.rejected) }),
      ...(Object.keys(meta).length > 0 && { meta }),
    };
  },
};

function lastAnswer(rejected: string | unknown[]): string {
  if (typeof rejected === "string") return rejected;
  const messages = parseRow(chatMessages, rejected, ["rejected"]);
  const last = messages.length - 1;
  if (messages[last]?.role !== "assistant")
    fail(last < 0 ? "rejected" : `rejected[${last}].role`, "must end with an assistant turn");
  return messages[last]!.content;
}
