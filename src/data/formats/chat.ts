import { z } from "zod";
import { chatFields, chatMessages, fail, idOf, parseRow, rowId, splitAnswered, type SourceFormatSpec } from "./shared.js";

/** `{id?, messages: [{role, content}, …]}` whose last message is the assistant's answer. */
export const messages: SourceFormatSpec = {
  matches: (keys) => keys.has("messages"),
  shape: '{"id"?: string | number, "messages": [{"role": "system" | "user" | "assistant", "content": string}, …]} ending with the answer',
  read(value) {
    const row = parseRow(z.object({ id: rowId, messages: chatMessages }), value);
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
    const row = parseRow(z.object({ id: rowId, messages: chatMessages, label: z.boolean() }), value);
    if (!row.label) fail("label", "undesirable example has no good answer", "only label: true rows can be used; skip the rest with skipInvalid (--skip-invalid)");
    return { id: idOf(row.id), ...splitAnswered(row.messages, chatFields("messages")) };
  },
};
