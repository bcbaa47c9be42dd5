/** The preference rows as read from kto.jsonl / dpo.jsonl / dpo_multi.jsonl (data.ts reads them, tokenize.ts tokenizes them). */
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

/** A dpo_multi.jsonl row: one chosen answer against K ≥ 1 rejected ones (K may differ from row to row). */
export interface MultiRow {
  line: number;
  conversational: boolean;
  messages: TemplateMessage[];
  chosen: string;
  rejected: string[];
}

/** The rows the export targets take: unpaired items or pairs. */
export type PreferenceRows = { kind: "unpaired"; rows: UnpairedRow[] } | { kind: "paired"; rows: PairedRow[] };

/** Every row shape `seapo train` reads: the export's two, and the listwise rows of dpo_multi.jsonl. */
export type TrainingRows = PreferenceRows | { kind: "listwise"; rows: MultiRow[] };
