import type { ChatMessage, Role } from "../llm/index.js";
import type { NegativeRecord, Provenance } from "./types.js";

/**
 * Training rows built from an accepted negative. Every row keeps its provenance under one `seapo`
 * key; TRL and LLaMA-Factory ignore columns they do not map, so the files stay trainable as they are.
 */
export interface WithProvenance {
  seapo: Provenance;
}

/**
 * TRL "standard" preference row with an explicit prompt (an implicit one would be split at the
 * common prefix of chosen and rejected, which a minimally edited negative shares). It holds the
 * last user turn only; multi-turn context is in the conversational row.
 */
export interface DpoRow extends WithProvenance {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** TRL "conversational" preference row: the prompt is the history plus the user turn. */
export interface DpoConversationalRow extends WithProvenance {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

/** TRL unpaired preference row (KTO): label true for the good answer, false for the negative. */
export interface KtoRow extends WithProvenance {
  prompt: string;
  completion: string;
  label: boolean;
}

/** TRL conversational unpaired row (KTO): the prompt turns, the answer as one assistant turn, and its label. */
export interface KtoConversationalRow extends WithProvenance {
  prompt: ChatMessage[];
  completion: ChatMessage[];
  label: boolean;
}

/** Where one of a multi-negative row's rejected answers came from (the row's source id is shared). */
export type RejectedProvenance = Omit<Provenance, "sourceId">;

/**
 * One prompt with all its kept negatives: `rejected[k]` was made by `seapo.rejected[k]`'s error type.
 * Like the standard DPO row, the prompt is the last user turn. Read by the listwise losses.
 */
export interface DpoMultiRow {
  prompt: string;
  chosen: string;
  rejected: string[];
  seapo: { sourceId: string; rejected: RejectedProvenance[] };
}

export interface ShareGptTurn {
  from: "system" | "human" | "gpt";
  value: string;
}

/** LLaMA-Factory sharegpt ranking row, shaped like its dpo_en_demo.json. */
export interface LlamaFactoryDpoRow extends WithProvenance {
  conversations: ShareGptTurn[];
  chosen: ShareGptTurn;
  rejected: ShareGptTurn;
}

/** LLaMA-Factory KTO row, shaped like its kto_en_demo.json: messages ending with the answer, and its label. */
export interface LlamaFactoryKtoRow extends WithProvenance {
  messages: ChatMessage[];
  label: boolean;
}

export interface KtoOptions {
  /** Also write the positive. The caller writes it once per source id, however many negatives that id has. */
  includeDesirable: boolean;
}

export function toDpoRow(rec: NegativeRecord): DpoRow {
  return { prompt: rec.prompt, chosen: rec.chosen, rejected: rec.rejected, seapo: provenance(rec) };
}

export function toDpoConversationalRow(rec: NegativeRecord): DpoConversationalRow {
  return {
    prompt: promptTurns(rec),
    chosen: [{ role: "assistant", content: rec.chosen }],
    rejected: [{ role: "assistant", content: rec.rejected }],
    seapo: provenance(rec),
  };
}

/** The positive (when asked for) then the negative. */
export function toKtoRows(rec: NegativeRecord, options: KtoOptions): KtoRow[] {
  const row = (completion: string, label: boolean): KtoRow => ({
    prompt: rec.prompt,
    completion,
    label,
    seapo: provenance(rec),
  });
  return options.includeDesirable ? [row(rec.chosen, true), row(rec.rejected, false)] : [row(rec.rejected, false)];
}

/** As `toKtoRows`, with the prompt as chat turns and the answer as an assistant turn (TRL's conversational shape). */
export function toKtoConversationalRows(rec: NegativeRecord, options: KtoOptions): KtoConversationalRow[] {
  const row = (answer: string, label: boolean): KtoConversationalRow => ({
    prompt: promptTurns(rec),
    completion: [{ role: "assistant", content: answer }],
    label,
    seapo: provenance(rec),
  });
  return options.includeDesirable ? [row(rec.chosen, true), row(rec.rejected, false)] : [row(rec.rejected, false)];
}

/** One prompt's negatives as one row, in the order given. They must share the source id and the positive. */
export function toDpoMultiRow(group: readonly NegativeRecord[]): DpoMultiRow {
  const first = group[0];
  if (first === undefined) throw new RangeError("toDpoMultiRow: a prompt needs at least one negative");
  const stranger = group.find((rec) => rec.sourceId !== first.sourceId || rec.chosen !== first.chosen);
  if (stranger !== undefined) {
    throw new RangeError(`toDpoMultiRow: source ${stranger.sourceId} is not ${first.sourceId} or has another positive`);
  }
  return {
    prompt: first.prompt,
    chosen: first.chosen,
    rejected: group.map((rec) => rec.rejected),
    seapo: {
      sourceId: first.sourceId,
      rejected: group.map((rec) => {
        const { sourceId: _shared, ...rest } = provenance(rec);
        return rest;
      }),
    },
  };
}

export function toLlamaFactoryDpoRow(rec: NegativeRecord): LlamaFactoryDpoRow {
  return {
    conversations: promptTurns(rec).map((message) => ({ from: shareGptFrom[message.role], value: message.content })),
    chosen: { from: "gpt", value: rec.chosen },
    rejected: { from: "gpt", value: rec.rejected },
    seapo: provenance(rec),
  };
}

/** The positive (when asked for) then the negative, each as its own labelled conversation. */
export function toLlamaFactoryKtoRows(rec: NegativeRecord, options: KtoOptions): LlamaFactoryKtoRow[] {
  const row = (answer: string, label: boolean): LlamaFactoryKtoRow => ({
    messages: [...promptTurns(rec), { role: "assistant", content: answer }],
    label,
    seapo: provenance(rec),
  });
  return options.includeDesirable ? [row(rec.chosen, true), row(rec.rejected, false)] : [row(rec.rejected, false)];
}

export interface LlamaFactoryDatasetEntry {
  file_name: string;
  formatting: "sharegpt";
  ranking?: true;
  columns: Record<string, string>;
  tags: Record<string, string>;
}

/**
 * The `dataset_info.json` object registering both files, named `<name>_dpo` and `<name>_kto`.
 * Keys follow LLaMA-Factory's data/README.md (sharegpt "Preference Dataset" and "OpenAI Format")
 * and the kto_en_demo entry of its data/dataset_info.json (`"kto_tag": "label"`). The DPO tags are
 * LLaMA-Factory's defaults, written out so the file says what it expects.
 */
export function llamaFactoryDatasetInfo(files: {
  dpoFile: string;
  ktoFile: string;
  name: string;
}): Record<string, LlamaFactoryDatasetEntry> {
  return {
    [`${files.name}_dpo`]: {
      file_name: files.dpoFile,
      formatting: "sharegpt",
      ranking: true,
      columns: { messages: "conversations", chosen: "chosen", rejected: "rejected" },
      tags: { role_tag: "from", content_tag: "value", user_tag: "human", assistant_tag: "gpt", system_tag: "system" },
    },
    [`${files.name}_kto`]: {
      file_name: files.ktoFile,
      formatting: "sharegpt",
      columns: { messages: "messages", kto_tag: "label" },
      tags: {
        role_tag: "role",
        content_tag: "content",
        user_tag: "user",
        assistant_tag: "assistant",
        system_tag: "system",
      },
    },
  };
}

const shareGptFrom = { system: "system", user: "human", assistant: "gpt" } as const satisfies Record<
  Role,
  ShareGptTurn["from"]
>;

/** Copies field by field: records read back from a journal carry extra keys (usage) that must not leak into rows. */
function provenance(rec: NegativeRecord): Provenance {
  return {
    sourceId: rec.sourceId,
    errorType: rec.errorType,
    injector: rec.injector,
    templateVersion: rec.templateVersion,
    seed: rec.seed,
  };
}

function promptTurns(rec: NegativeRecord): ChatMessage[] {
  return [...rec.history.map(({ role, content }) => ({ role, content })), { role: "user", content: rec.prompt }];
}
