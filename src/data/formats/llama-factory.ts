import { z } from "zod";
import type { ChatMessage, Role } from "../../llm/index.js";
import {
  fail,
  idOf,
  nonEmptyText,
  parseRow,
  rowId,
  splitAnswered,
  splitAtLastUser,
  type TurnFields,
  type SourceFormatSpec,
} from "./shared.js";

// Row shapes follow LLaMA-Factory's data/README.md ("Alpaca Format" and "Sharegpt Format" sections).

const shareGptRoles = { system: "system", human: "user", gpt: "assistant" } as const satisfies Record<string, Role>;
const shareGptTurn = z.object({ from: z.enum(["system", "human", "gpt"]), value: z.string() });
const shareGptAnswer = z.object({ from: z.literal("gpt"), value: nonEmptyText });

const shareGptRow = z.object({
  id: rowId,
  conversations: z.array(shareGptTurn),
  system: z.string().optional(),
  chosen: shareGptAnswer.optional(),
  rejected: shareGptAnswer.optional(),
});

const shareGptFields: TurnFields = {
  list: "conversations",
  at: (index, key) => `conversations[${index}].${key === "role" ? "from" : "value"}`,
};

/**
 * `{conversations: [{from, value}], system?, chosen?, rejected?}`. In a ranking row (dpo_en_demo)
 * the conversation ends with the human turn and `chosen` is the good answer; otherwise the
 * conversation ends with the answer.
 */
export const sharegpt: SourceFormatSpec = {
  matches: (keys) => keys.has("conversations"),
  shape:
    '{"conversations": [{"from": "system" | "human" | "gpt", "value": string}, …], "system"?: string, "chosen"?: {"from": "gpt", "value": string}, "rejected"?: {…}}',
  read(value) {
    const row = parseRow(shareGptRow, value);
    const turns: ChatMessage[] = row.conversations.map((turn) => ({
      role: shareGptRoles[turn.from],
      content: turn.value,
    }));
    if (row.rejected && !row.chosen) fail("chosen", "missing", "a row with rejected needs chosen too");
    const split = row.chosen
      ? { ...splitAtLastUser(turns, shareGptFields), response: row.chosen.value }
      : splitAnswered(turns, shareGptFields);
    return {
      id: idOf(row.id),
      prompt: split.prompt,
      history: withSystem(row.system, split.history),
      response: split.response,
      ...(row.rejected && { rejected: row.rejected.value }),
    };
  },
};

const alpacaRow = z.object({
  id: rowId,
  instruction: nonEmptyText,
  input: z.string().optional(),
  output: nonEmptyText.optional(),
  chosen: nonEmptyText.optional(),
  rejected: z.string().optional(),
  system: z.string().optional(),
  history: z.array(z.tuple([z.string(), z.string()])).optional(),
});

/** `{instruction, input?, output | chosen, rejected?, system?, history?: [[user, assistant], …]}`. */
export const alpaca: SourceFormatSpec = {
  matches: (keys) => keys.has("instruction"),
  shape:
    '{"instruction": string, "input"?: string, "output": string (or "chosen" and "rejected"), "system"?: string, "history"?: [[user, assistant], …]}',
  read(value) {
    const row = parseRow(alpacaRow, value);
    // Ranking rows carry chosen/rejected instead of output.
    const response =
      row.chosen ??
      row.output ??
      fail("output", "missing", "alpaca rows need output, or chosen and rejected for ranking data");
    const history = (row.history ?? []).flatMap(([user, assistant]): ChatMessage[] => [
      { role: "user", content: user },
      { role: "assistant", content: assistant },
    ]);
    return {
      id: idOf(row.id),
      // LLaMA-Factory joins instruction and input with a newline to make the user turn.
      prompt: row.input?.trim() ? `${row.instruction}\n${row.input}` : row.instruction,
      history: withSystem(row.system, history),
      response,
      ...(row.rejected !== undefined && { rejected: row.rejected }),
    };
  },
};

/** Puts a `system` column in front; a system turn already in the conversation wins, as in LLaMA-Factory. */
function withSystem(system: string | undefined, history: ChatMessage[]): ChatMessage[] {
  return system && history[0]?.role !== "system" ? [{ role: "system", content: system }, ...history] : history;
}
