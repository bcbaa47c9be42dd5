/**
 * Training data: the rows `seapo inject` writes, checked, tokenized as TRL tokenizes them
 * (tokenize.ts), and planned into seeded, length-bucketed batches.
 *
 *   kto.jsonl        {prompt, completion, label: boolean}         → unpaired items
 *   dpo.jsonl        {prompt, chosen, rejected}                    → pairs
 *   dpo_multi.jsonl  {prompt, chosen, rejected: [r1, r2, …]}       → listwise rows (K ≥ 1 negatives,
 *                                                                    K free to differ between rows)
 * `prompt` is a string (one user turn) or a TRL conversational message list (history + user turn);
 * `completion`, `chosen`, `rejected` and each `rejected[k]` are strings or a one-message assistant list.
 */
import { type HfTokenizer, Rng, type TemplateMessage } from "../engine/index.js";
import type { MultiRow, PairedRow, PreferenceRows, TrainingRows, UnpairedRow } from "./rows.js";
import { tokenizeRows, type TokenizeStats, type TokenizedRows } from "./tokenize.js";
import { InputError } from "../errors.js";
import { readJsonEntries, toJsonLines, writeFileAtomic } from "../io/index.js";
import type { LossRequirements } from "./losses/index.js";

export type { MultiRow, PairedRow, PreferenceRows, TrainingRows, UnpairedRow } from "./rows.js";

/** A row that failed its checks, as written to the rejects file. */
export interface RowReject {
  file: string;
  line: number;
  field: string | undefined;
  problem: string;
}

export interface ReadOptions {
  /** Collect bad rows as rejects instead of stopping at the first. */
  skipInvalid?: boolean;
  /** Pairs must carry `seapo.errorType` (F-DPO reads its hallucination flags from it), naming the loss. */
  errorTypeFor?: string;
}

type RowKind = TrainingRows["kind"];
type AnyRow = UnpairedRow | PairedRow | MultiRow;

/** What each kind of row is called in messages (one, several), and the file it usually lives in. */
const KIND_NAMES: Record<RowKind, { one: string; many: string }> = {
  unpaired: {
    one: "an unpaired {prompt, completion, label} row (kto.jsonl)",
    many: "unpaired {prompt, completion, label} rows (kto.jsonl)",
  },
  paired: { one: "a chosen/rejected pair (dpo.jsonl)", many: "chosen/rejected pairs (dpo.jsonl)" },
  listwise: {
    one: "a row with a list of rejected answers (dpo_multi.jsonl)",
    many: "rows with a list of rejected answers (dpo_multi.jsonl)",
  },
};

/**
 * Reads kto.jsonl-, dpo.jsonl- or dpo_multi.jsonl-shaped rows; the kind is taken from the first
 * row, and a row of another kind is a bad row.
 */
export async function readTrainingRows(
  file: string,
  options: ReadOptions = {},
): Promise<{ data: TrainingRows; rejects: RowReject[] }> {
  const rejects: RowReject[] = [];
  const rows: AnyRow[] = [];
  let kind: RowKind | undefined;
  const reject = (line: number, field: string | undefined, problem: string, hint?: string): void => {
    if (!options.skipInvalid)
      throw new InputError(
        file,
        line,
        field,
        problem,
        hint ?? "fix the row, or pass --skip-invalid to count it into rejects.jsonl",
      );
    rejects.push({ file, line, field, problem });
  };

  for await (const entry of readJsonEntries(file)) {
    if ("malformed" in entry) {
      reject(entry.line, undefined, `malformed JSON: ${entry.malformed}`);
      continue;
    }
    const { line, value } = entry;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      reject(line, undefined, "expected a JSON object");
      continue;
    }
    const row = value as Record<string, unknown>;
    const rowKind = kindOf(row, kind);
    kind ??= rowKind;
    if (rowKind !== kind) {
      reject(
        line,
        rowKind === "unpaired" ? "completion" : "rejected",
        `${KIND_NAMES[rowKind].one} in a file of ${KIND_NAMES[kind].many}`,
        "keep kto.jsonl, dpo.jsonl and dpo_multi.jsonl rows in separate files (a row with one negative is written rejected: [r] in dpo_multi.jsonl)",
      );
      continue;
    }
    try {
      rows.push(parseRow(kind, row, line, options));
    } catch (error) {
      if (!(error instanceof RowProblem)) throw error;
      reject(line, error.field, error.message);
    }
  }
  if (kind === undefined || rows.length === 0) {
    throw new InputError(
      file,
      undefined,
      undefined,
      "no usable rows",
      "expected kto.jsonl {prompt, completion, label}, dpo.jsonl {prompt, chosen, rejected} or dpo_multi.jsonl {prompt, chosen, rejected: [r1, r2, …]} rows",
    );
  }
  return { data: { kind, rows } as TrainingRows, rejects };
}

/**
 * The rows the export targets take (unpaired items or pairs): readTrainingRows, with a file of
 * listwise rows refused at its first row, naming what to export instead.
 */
export async function readPreferenceRows(
  file: string,
  options: ReadOptions = {},
): Promise<{ data: PreferenceRows; rejects: RowReject[] }> {
  const { data, rejects } = await readTrainingRows(file, options);
  if (data.kind === "listwise")
    throw new InputError(
      file,
      data.rows[0]!.line,
      "rejected",
      "holds a list of rejected answers (dpo_multi.jsonl); only seapo train's listwise losses (multi_dpo, listwise_pl) train such rows: TRL and LLaMA-Factory have no loss that trains several negatives per prompt, and splitting them into pairs would count the prompt once per negative",
      "export the pairwise dpo.jsonl (one negative per row) or kto.jsonl that seapo inject writes",
    );
  return { data, rejects };
}

/**
 * A row with `rejected` a list of answers (strings or message lists) is listwise; a message list
 * itself (objects) is one conversational answer. An empty list takes the file's kind (listwise
 * when it is the first row), so that its own check names the problem.
 */
function kindOf(row: Record<string, unknown>, fileKind: RowKind | undefined): RowKind {
  if (!("chosen" in row || "rejected" in row)) return "unpaired";
  const rejected = row.rejected;
  if (!Array.isArray(rejected)) return "paired";
  if (rejected.length === 0) return fileKind ?? "listwise";
  return rejected.every((answer) => typeof answer === "string" || Array.isArray(answer)) ? "listwise" : "paired";
}

/** One row of a known kind, checked field by field (a RowProblem names the field). */
function parseRow(kind: RowKind, row: Record<string, unknown>, line: number, options: ReadOptions): AnyRow {
  const messages = promptMessages(row.prompt, "prompt");
  const rejectedList = Array.isArray(row.rejected) && kind === "listwise" ? (row.rejected as unknown[]) : [];
  const conversational = [row.prompt, row.completion, row.chosen, row.rejected, ...rejectedList].some(
    (field) => Array.isArray(field) && field.some((item) => typeof item === "object" && item !== null),
  );
  if (kind === "unpaired") {
    const completion = answerText(row.completion, "completion");
    if (typeof row.label !== "boolean")
      throw new RowProblem("label", `must be true or false, got ${JSON.stringify(row.label) ?? "nothing"}`);
    return { line, conversational, messages, completion, label: row.label };
  }
  const chosen = answerText(row.chosen, "chosen");
  if (kind === "listwise") {
    if (rejectedList.length === 0)
      throw new RowProblem("rejected", "is an empty list; a row needs at least one rejected answer");
    return {
      line,
      conversational,
      messages,
      chosen,
      rejected: rejectedList.map((r, k) => answerText(r, `rejected[${k}]`)),
    };
  }
  const errorType = errorTypeOf(row, options.errorTypeFor);
  return {
    line,
    conversational,
    messages,
    chosen,
    rejected: answerText(row.rejected, "rejected"),
    ...(errorType === undefined ? {} : { errorType }),
  };
}

class RowProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** `seapo.errorType` of a row written by `seapo inject`; required when `loss` names who reads it. */
function errorTypeOf(row: Record<string, unknown>, loss: string | undefined): string | undefined {
  const value = (row.seapo as { errorType?: unknown } | undefined)?.errorType;
  if (typeof value === "string" && value !== "") return value;
  if (loss !== undefined)
    throw new RowProblem(
      "seapo.errorType",
      `${loss} reads each pair's hallucination flag from the rejected answer's error type, which this row does not carry`,
    );
  return undefined;
}

function promptMessages(value: unknown, field: string): TemplateMessage[] {
  if (typeof value === "string") {
    if (value.trim() === "") throw new RowProblem(field, "is empty");
    return [{ role: "user", content: value }];
  }
  if (!Array.isArray(value) || value.length === 0)
    throw new RowProblem(field, "must be a string or a non-empty list of {role, content} messages");
  return value.map((message, i) => {
    const m = message as { role?: unknown; content?: unknown } | null;
    if (typeof m?.role !== "string" || typeof m.content !== "string")
      throw new RowProblem(`${field}[${i}]`, "must be a {role, content} message with string fields");
    return { role: m.role, content: m.content };
  });
}

function answerText(value: unknown, field: string): string {
  let text: unknown = value;
  if (Array.isArray(value)) {
    const last = value[value.length - 1] as { role?: unknown; content?: unknown } | undefined;
    if (value.length !== 1 || last?.role !== "assistant")
      throw new RowProblem(field, "a message list must hold exactly one assistant message");
    text = last.content;
  }
  if (typeof text !== "string") throw new RowProblem(field, text === undefined ? "is missing" : "must be a string");
  if (text.trim() === "") throw new RowProblem(field, "is empty");
  return text;
}

/** Paired rows as unpaired items for KTO-style losses: chosen desirable, rejected undesirable. */
export function unpairRows(rows: readonly PairedRow[]): UnpairedRow[] {
  return rows.flatMap((r) => [
    { line: r.line, conversational: r.conversational, messages: r.messages, completion: r.chosen, label: true },
    { line: r.line, conversational: r.conversational, messages: r.messages, completion: r.rejected, label: false },
  ]);
}

/**
 * The rows a loss of `kind` trains on: pairs are split into items for an unpaired loss (as the
 * trainer and both export targets do); any other mismatch is an error naming the file. Listwise rows
 * are not split into pairs or items for a pairwise or unpaired loss: each prompt would count once per
 * negative, so the user picks dpo.jsonl or kto.jsonl (the same negatives) instead.
 */
export function rowsForLoss(
  rows: PreferenceRows,
  kind: LossRequirements["kind"],
  from: { file: string; loss: string; hint: string },
): PreferenceRows;
export function rowsForLoss(
  rows: TrainingRows,
  kind: LossRequirements["kind"],
  from: { file: string; loss: string; hint: string },
): TrainingRows;
export function rowsForLoss(
  rows: TrainingRows,
  kind: LossRequirements["kind"],
  from: { file: string; loss: string; hint: string },
): TrainingRows {
  if (kind === rows.kind) return rows;
  if (kind === "unpaired" && rows.kind === "paired") return { kind: "unpaired", rows: unpairRows(rows.rows) };
  const refuse = (problem: string, hint: string): never => {
    throw new InputError(from.file, undefined, undefined, `--loss ${from.loss} ${problem}`, hint);
  };
  if (kind === "listwise")
    refuse(
      `needs rows with a list of rejected answers {prompt, chosen, rejected: [r1, r2, …]} (dpo_multi.jsonl), but the file holds ${KIND_NAMES[rows.kind].many}`,
      "train on the dpo_multi.jsonl that seapo inject writes, or use a pairwise loss such as dpo_sigmoid",
    );
  if (rows.kind === "listwise")
    refuse(
      `trains ${kind === "paired" ? "one rejected answer per pair" : "unpaired items"}, but the file holds rows with a list of rejected answers (dpo_multi.jsonl); splitting them would count each prompt once per negative`,
      `train --loss ${from.loss} on the ${kind === "paired" ? "dpo.jsonl" : "kto.jsonl"} seapo inject writes beside it (the same negatives), or use multi_dpo or listwise_pl on dpo_multi.jsonl`,
    );
  return refuse(`needs chosen/rejected pairs, but the file holds unpaired {prompt, completion, label} rows`, from.hint);
}

export {
  rowLength,
  tokenizeRows,
  type TokenizedItem,
  type TokenizedMulti,
  type TokenizedPair,
  type TokenizedRows,
  type TokenizeStats,
} from "./tokenize.js";

// ---------------------------------------------------------------------------------------------
// batches

/** Rows sorted by length inside groups of this many batches, so a batch pads little. */
export const BUCKET_BATCHES = 16;

/**
 * One epoch's micro-batches of row indices: a seeded shuffle, then (with bucketing) each group of
 * BUCKET_BATCHES batches sorted by length before it is cut, and the group's batches shuffled again.
 * The second shuffle matters: left in length order, every group runs from the longest rows to the
 * shortest, and where length follows the kind of row (the demo's dimensions) the steps become a
 * curriculum that sweeps the kinds once per group. The last batch may be short.
 * A pure function of its arguments, so a resumed run rebuilds the same plan.
 */
export function planEpoch(lengths: readonly number[], batchSize: number, seed: number, bucket: boolean): number[][] {
  const rng = new Rng(seed);
  const order = shuffled(
    Array.from(lengths, (_, i) => i),
    rng,
  );
  const group = bucket ? batchSize * BUCKET_BATCHES : order.length;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += group) {
    const chunk = order.slice(start, start + group);
    if (bucket) chunk.sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    const cut: number[][] = [];
    for (let i = 0; i < chunk.length; i += batchSize) cut.push(chunk.slice(i, i + batchSize));
    batches.push(...(bucket ? shuffled(cut, rng) : cut));
  }
  return batches;
}

/** Fisher–Yates, in place, drawing from `rng`. */
function shuffled<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// a training file, start to end

/** A file's rows as the trainer uses them, with what was lost on the way. */
export interface TrainingSet extends TokenizeStats {
  data: TokenizedRows;
  /** Rows that failed their checks (kept only with skipInvalid). */
  rejects: number;
}

/**
 * Reads, checks, shapes for the loss and tokenizes one file. Rejects go to `rejectsFile` when
 * given; too few rows left (two with a KL term, which pairs rows) is an error.
 */
export async function readTrainingSet(
  file: string,
  settings: { loss: string; skipInvalid: boolean; maxLength: number },
  needs: LossRequirements,
  tokenizer: HfTokenizer,
  rejectsFile?: string,
): Promise<TrainingSet> {
  const { data: raw, rejects } = await readTrainingRows(file, {
    skipInvalid: settings.skipInvalid,
    ...(needs.hallucination ? { errorTypeFor: `--loss ${settings.loss}` } : {}),
  });
  if (rejectsFile !== undefined && rejects.length > 0) writeFileAtomic(rejectsFile, toJsonLines(rejects));
  const rows = rowsForLoss(raw, needs.kind, {
    file,
    loss: settings.loss,
    hint: "train on dpo.jsonl, or use --loss kto",
  });
  const { data, stats } = tokenizeRows(rows, tokenizer, settings.maxLength);
  if (data.rows.length < (needs.kl ? 2 : 1))
    throw new InputError(
      file,
      undefined,
      undefined,
      `only ${data.rows.length} row(s) fit --max-length ${settings.maxLength}`,
    );
  return { data, ...stats, rejects: rejects.length };
}
