import { z } from "zod";
import {
  chatFields,
  chatMessages,
  fail,
  idOf,
  parseRow,
  rowId,
  splitAnswered,
  type SourceFormatSpec,
} from "./shared.js";

// Schemas are built once: zod compiles an object schema on first use, which costs far more than a parse.
const messagesRow = z.object({ id: rowId, messages: chatMessages });
const ktoRow = z.object({ id: rowId, messages: chatMessages, label: z.boolean() });

/** `{id?, messages: [{role, content}, …]}` whose last message is the assistant's answer. */
export const messages: SourceFormatSpec = {
  matches: (keys) => keys.has("messages"),
  shape:
    '{"id"?: string | number, "messages": [{"role": "system" | "user" | "assistant", "content": string}, …]} ending with the answer',
  read(value) {
    const row = parseRow(messagesRow, value);
    return { id: idOf(row.id), ...splitAnswered(row.messages, chatFields("messages")) };
  },
};

/**
 * LLaMA-Factory's KTO rows (kto_en_demo.json): messages plus a desirable/undesirable `label`.
 * Only a desirable row holds a good answer to build a negative from; an undesirable one is
 * reported like any unusable row, so it is counted rather than silently dropped.
 */
export const kto: SourceFormatSpec = {
  matches: (keys) => keys.has("messages") && keys.has("label"),
  shape: '{"messages": [{"role", "content"}, …] ending with the answer, "label": boolean}',
  read(value) {
    const row = parseRow(ktoRow, value);
    if (!row.label)
      fail(
        "label",
        "undesirable example has no good answer",
        "only label: true rows can be used; skip the rest with skipInvalid (--skip-invalid)",
      );
    return { id: idOf(row.id), ...splitAnswered(row.messages, chatFields("messages")) };
  },
};
