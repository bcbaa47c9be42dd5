/** The preference rows as read from kto.jsonl / dpo.jsonl (data.ts reads them, tokenize.ts tokenizes them). */
import type { TemplateMessage } from "../engine/index.js";

export interface UnpairedRow {
  line: number;
  /** TRL's "conversational" row (a message-list prompt or answer), tokenized with the chat template; else "standard". */
  conversational: boolean;
  messages: TemplateMessage[];
  completion: string;
  label: boolean;
}

export interface PairedRow {
  line: number;
  conversational: boolean;
  messages: TemplateMessage[];
  chosen: string;
  rejected: string;
  /** The rejected answer's injected error type (`seapo.errorType`), when the row carries it. */
  errorType?: string;
}

export type PreferenceRows = { kind: "unpaired"; rows: UnpairedRow[] } | { kind: "paired"; rows: PairedRow[] };
