import type { ChatMessage } from "../llm/index.js";

/**
 * One input example after import, whatever the source format. The prompt is always explicit:
 * `prompt` is the last user turn as plain text and `history` the turns before it (system included),
 * so exporters can write both the standard and the conversational variant.
 */
export interface SourceRow {
  /** From the file when it has one (id, source_index, …), else `<file basename>:<line>`. */
  id: string;
  prompt: string;
  history: ChatMessage[];
  /** The good answer: the positive. */
  response: string;
  /** The source's own rejected answer, when it has one (UltraFeedback, DPO files). */
  rejected?: string;
  /** Anything else the source row carried (scores, …), kept for provenance. */
  meta?: Record<string, unknown>;
  /** 1-based line (JSONL) or element index + 1 (JSON array) in the input file. */
  line: number;
}

/** Where a negative came from. Every exported row carries it. */
export interface Provenance {
  sourceId: string;
  errorType: string;
  injector: string;
  templateVersion: string;
  seed: number;
}

/** An accepted error-injected negative, paired with its positive. */
export interface NegativeRecord extends Provenance {
  prompt: string;
  history: ChatMessage[];
  chosen: string;
  rejected: string;
}
