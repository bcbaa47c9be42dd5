/**
 * Rows to token ids as TRL tokenizes them (v1.9.0, DPOTrainer._prepare_dataset / KTOTrainer
 * `tokenize_fn`, through trl/data_utils.py `_tokenize`):
 *
 *   conversational  prompt ids     = the chat template's rendering of the prompt messages with the
 *                                    generation prompt, tokenized without added special tokens
 *                   completion ids = the rendering of prompt + {assistant: answer} (no generation
 *                                    prompt), tokenized the same way, minus the prompt ids' length,
 *                                    so the template's end-of-turn suffix (Qwen: <|im_end|>\n) is
 *                                    part of the completion
 *   standard        no chat template: prompt ids = tokenizer(prompt) with its special tokens (BOS
 *                   where the tokenizer adds one); the answer gets the EOS text appended unless it
 *                   ends with it, and completion ids = tokenizer(prompt + answer) minus the prompt ids
 *
 * TRL warns when the prompt ids are not a prefix of the prompt + answer ids and slices anyway; so
 * does this, counting them. Only completion tokens are scored; the prompt is masked.
 */
import type { HfTokenizer } from "../engine/index.js";
import { InputError } from "../errors.js";
import type { MultiRow, PairedRow, TrainingRows, UnpairedRow } from "./rows.js";

export interface TokenizedItem {
  line: number;
  prompt: number[];
  completion: number[];
  label: boolean;
}

export interface TokenizedPair {
  line: number;
  prompt: number[];
  chosen: number[];
  rejected: number[];
  errorType?: string;
}

/** A listwise row: the chosen completion and each rejected one, every one tokenized as a pair's answers are. */
export interface TokenizedMulti {
  line: number;
  prompt: number[];
  chosen: number[];
  rejected: number[][];
}

export type TokenizedRows =
  | { kind: "unpaired"; rows: TokenizedItem[] }
  | { kind: "paired"; rows: TokenizedPair[] }
  | { kind: "listwise"; rows: TokenizedMulti[] };

export interface TokenizeStats {
  /** Rows whose prompt alone leaves no room for a completion token within maxLength. */
  dropped: number;
  /** Completions cut to fit maxLength (keeping their start). */
  truncated: number;
  /** Answers whose prompt + answer ids do not start with the prompt's ids (TRL warns about these). */
  prefixMismatches: number;
}

/** A row's prompt ids, and the completion ids of one of its answers, by TRL's rule. */
export function trlTokens(
  tokenizer: HfTokenizer,
  row: Pick<UnpairedRow | PairedRow, "conversational" | "messages">,
): { prompt: number[]; completion(answer: string): { ids: number[]; prefixMatches: boolean } } {
  const eos = tokenizer.eosToken;
  if (eos === undefined || tokenizer.eosTokenId === undefined)
    throw new InputError(
      "tokenizer_config.json",
      undefined,
      "eos_token",
      "the tokenizer has no EOS token, so a completion has no end to learn",
    );
  const render = row.conversational
    ? (answer: string | undefined) =>
        tokenizer.encode(
          tokenizer.applyChatTemplate(
            answer === undefined ? row.messages : [...row.messages, { role: "assistant", content: answer }],
            { addGenerationPrompt: answer === undefined },
          ),
          { addSpecialTokens: false },
        )
    : (answer: string | undefined) => {
        const prompt = row.messages[0]!.content;
        const text = answer === undefined ? prompt : prompt + (answer.endsWith(eos) ? answer : answer + eos);
        return tokenizer.encode(text, { addSpecialTokens: true });
      };
  const prompt = render(undefined);
  return {
    prompt,
    completion: (answer) => {
      const full = render(answer);
      return { ids: full.slice(prompt.length), prefixMatches: prompt.every((id, i) => full[i] === id) };
    },
  };
}

export function tokenizeRows(
  data: TrainingRows,
  tokenizer: HfTokenizer,
  maxLength: number,
): { data: TokenizedRows; stats: TokenizeStats } {
  const stats: TokenizeStats = { dropped: 0, truncated: 0, prefixMismatches: 0 };
  const tokenize = (
    row: UnpairedRow | PairedRow | MultiRow,
    answers: string[],
  ): { prompt: number[]; answers: number[][] } | undefined => {
    const tokens = trlTokens(tokenizer, row);
    if (tokens.prompt.length >= maxLength) {
      stats.dropped++;
      return undefined;
    }
    const room = maxLength - tokens.prompt.length;
    const ids = answers.map((answer) => {
      const { ids, prefixMatches } = tokens.completion(answer);
      if (!prefixMatches) stats.prefixMismatches++;
      if (ids.length <= room) return ids;
      stats.truncated++;
      return ids.slice(0, room);
    });
    return { prompt: tokens.prompt, answers: ids };
  };

  if (data.kind === "unpaired") {
    const rows: TokenizedItem[] = [];
    for (const row of data.rows) {
      const t = tokenize(row, [row.completion]);
      if (t !== undefined) rows.push({ line: row.line, prompt: t.prompt, completion: t.answers[0]!, label: row.label });
    }
    return { data: { kind: "unpaired", rows }, stats };
  }
  if (data.kind === "listwise") {
    const rows: TokenizedMulti[] = [];
    for (const row of data.rows) {
      const t = tokenize(row, [row.chosen, ...row.rejected]);
      if (t !== undefined)
        rows.push({ line: row.line, prompt: t.prompt, chosen: t.answers[0]!, rejected: t.answers.slice(1) });
    }
    return { data: { kind: "listwise", rows }, stats };
  }
  const rows: TokenizedPair[] = [];
  for (const row of data.rows) {
    const t = tokenize(row, [row.chosen, row.rejected]);
    if (t === undefined) continue;
    const [chosen, rejected] = t.answers as [number[], number[]];
    rows.push({
      line: row.line,
      prompt: t.prompt,
      chosen,
      rejected,
      ...(row.errorType === undefined ? {} : { errorType: row.errorType }),
    });
  }
  return { data: { kind: "paired", rows }, stats };
}

/** Tokens of a row's longest sequence (the longer side of a pair, the longest answer of a listwise row). */
export function rowLength(row: TokenizedItem | TokenizedPair | TokenizedMulti): number {
  if ("completion" in row) return row.prompt.length + row.completion.length;
  const rejected = typeof row.rejected[0] === "number" ? [row.rejected as number[]] : (row.rejected as number[][]);
  return row.prompt.length + Math.max(row.chosen.length, ...rejected.map((r) => r.length));
}
