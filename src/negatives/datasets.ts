import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  llamaFactoryDatasetInfo,
  toDpoConversationalRow,
  toDpoMultiRow,
  toDpoRow,
  toKtoConversationalRows,
  toKtoRows,
  toLlamaFactoryDpoRow,
  toLlamaFactoryKtoRows,
} from "../data/index.js";
import { AtomicLineWriter, readRecords, writeFileAtomic } from "../io/index.js";
import { journalFiles, type NegativeLine, type RejectLine } from "./journals.js";
import { SpreadFiles } from "./spread-files.js";
import { bump, STATS_FILE, summariseLengths, total, type InjectStats } from "./stats.js";
import { seededUniform, type Strategy } from "./strategy.js";
import type { SpreadOptions } from "../data/index.js";

export const exportFiles = {
  dpo: "dpo.jsonl",
  dpoConversational: "dpo_conversational.jsonl",
  dpoMulti: "dpo_multi.jsonl",
  kto: "kto.jsonl",
  ktoConversational: "kto_conversational.jsonl",
  llamaFactoryDir: "llamafactory",
  llamaFactoryDpo: "seapo_dpo.jsonl",
  llamaFactoryKto: "seapo_kto.jsonl",
  llamaFactoryInfo: "dataset_info.json",
  stats: STATS_FILE,
} as const;

/**
 * Rows within which no prompt repeats in the KTO files (every sliding window, so any batch
 * alignment). TRL builds KTO's mismatched KL rows inside each per-device batch and LLaMA-Factory
 * from neighbouring rows, so this must be at least the per-device batch size: 16 covers the
 * batches people use on one GPU. Needs at least this many prompts to hold everywhere.
 */
export const KTO_SPREAD_WINDOW = 16;

export interface ExportOptions {
  /** Default KTO_SPREAD_WINDOW. */
  ktoWindow?: number;
}

export interface RunCounters {
  retries: number;
  cacheHits: number;
  cacheMisses: number;
}

/** What the journals hold, counted while the datasets are written. */
interface Tally {
  acceptedByType: Record<string, number>;
  exportedByType: Record<string, number>;
  rejectsByReason: Record<string, number>;
  rejectsByType: Record<string, number>;
  tokens: { input: number; output: number };
  positiveLengths: number[];
  negativeLengths: number[];
  ratios: number[];
  ktoDesirable: number;
  ktoUndesirable: number;
}

/**
 * Rebuilds every training file from the journals in one pass. The journals keep a prompt's
 * negatives together, so `mixed` can pick one per prompt, KTO can write each positive once and
 * dpo_multi.jsonl can hold one row per prompt. The KTO files are then reordered by
 * `spreadByPrompt` (window `ktoWindow`, the inject seed), spooled to disk meanwhile. Each file
 * appears whole or not at all; as they are rebuilt from the journals alone, a resumed run writes
 * the same bytes as an uninterrupted one.
 */
export async function exportDatasets(
  outDir: string,
  strategy: Strategy,
  seed: number,
  counters: RunCounters,
  options: ExportOptions = {},
): Promise<InjectStats> {
  const ktoOrder = { window: options.ktoWindow ?? KTO_SPREAD_WINDOW, seed };
  const writers = new DatasetWriters(outDir, ktoOrder);
  const tally = emptyTally();
  let group: NegativeLine[] = [];
  const flush = () => {
    if (group.length > 0) writers.writeGroup(keptNegatives(group, strategy, seed), tally);
    group = [];
  };
  for await (const line of readRecords<NegativeLine>(join(outDir, journalFiles.negatives))) {
    countNegative(tally, line);
    if (group.length > 0 && group[0]!.sourceId !== line.sourceId) flush();
    group.push(line);
  }
  flush();
  for await (const line of readRecords<RejectLine>(join(outDir, journalFiles.rejects))) countReject(tally, line);
  writers.commit();

  const stats = summarise(tally, writers.pairs, counters);
  stats.kto.order = { window: ktoOrder.window, seed, conflicts: writers.ktoConflicts };
  writeFileAtomic(join(outDir, exportFiles.stats), `${JSON.stringify(stats, null, 2)}\n`);
  return stats;
}

/** One prompt's negatives as exported: all of them, or for `mixed` one chosen by the seed. */
function keptNegatives(group: NegativeLine[], strategy: Strategy, seed: number): NegativeLine[] {
  if (strategy.kind !== "mixed") return group;
  return [group[Math.floor(seededUniform(seed, group[0]!.sourceId, "mixed") * group.length)]!];
}

/** The seven dataset files, written atomically (with LLaMA-Factory's dataset_info.json on commit). */
class DatasetWriters {
  private readonly lfDir: string;
  private readonly dpo: AtomicLineWriter;
  private readonly dpoConversational: AtomicLineWriter;
  private readonly dpoMulti: AtomicLineWriter;
  private readonly lfDpo: AtomicLineWriter;
  /** kto.jsonl, kto_conversational.jsonl and LLaMA-Factory's seapo_kto.jsonl, in one spread order. */
  private readonly kto: SpreadFiles;
  /** KTO rows placed within the window of their prompt (0 unless there are too few prompts). */
  ktoConflicts = 0;

  constructor(outDir: string, ktoOrder: SpreadOptions) {
    this.lfDir = join(outDir, exportFiles.llamaFactoryDir);
    mkdirSync(this.lfDir, { recursive: true });
    this.dpo = new AtomicLineWriter(join(outDir, exportFiles.dpo));
    this.dpoConversational = new AtomicLineWriter(join(outDir, exportFiles.dpoConversational));
    this.dpoMulti = new AtomicLineWriter(join(outDir, exportFiles.dpoMulti));
    this.lfDpo = new AtomicLineWriter(join(this.lfDir, exportFiles.llamaFactoryDpo));
    const ktoPaths = [exportFiles.kto, exportFiles.ktoConversational].map((file) => join(outDir, file));
    this.kto = new SpreadFiles([...ktoPaths, join(this.lfDir, exportFiles.llamaFactoryKto)], ktoOrder);
  }

  get pairs(): number {
    return this.dpo.count;
  }

  /** Writes one prompt's kept negatives; `group[0]` carries the positive, written to KTO once. */
  writeGroup(kept: NegativeLine[], tally: Tally): void {
    tally.positiveLengths.push(kept[0]!.chosen.length);
    this.dpoMulti.write(toDpoMultiRow(kept));
    kept.forEach((record, i) => {
      bump(tally.exportedByType, record.errorType);
      this.dpo.write(toDpoRow(record));
      this.dpoConversational.write(toDpoConversationalRow(record));
      this.lfDpo.write(toLlamaFactoryDpoRow(record));
      const options = { includeDesirable: i === 0 }; // each positive once per prompt
      const trl = toKtoRows(record, options);
      const conversational = toKtoConversationalRows(record, options);
      const lf = toLlamaFactoryKtoRows(record, options);
      trl.forEach((row, j) => {
        this.kto.add(record.prompt, [row, conversational[j]!, lf[j]!]);
        if (row.label) tally.ktoDesirable++;
        else tally.ktoUndesirable++;
      });
    });
  }

  commit(): void {
    for (const writer of [this.dpo, this.dpoConversational, this.dpoMulti, this.lfDpo]) writer.commit();
    this.ktoConflicts = this.kto.commit();
    const info = llamaFactoryDatasetInfo({
      dpoFile: exportFiles.llamaFactoryDpo,
      ktoFile: exportFiles.llamaFactoryKto,
      name: "seapo",
    });
    writeFileAtomic(join(this.lfDir, exportFiles.llamaFactoryInfo), `${JSON.stringify(info, null, 2)}\n`);
  }
}

function emptyTally(): Tally {
  return {
    acceptedByType: {},
    exportedByType: {},
    rejectsByReason: {},
    rejectsByType: {},
    tokens: { input: 0, output: 0 },
    positiveLengths: [],
    negativeLengths: [],
    ratios: [],
    ktoDesirable: 0,
    ktoUndesirable: 0,
  };
}

function countNegative(tally: Tally, line: NegativeLine): void {
  bump(tally.acceptedByType, line.errorType);
  tally.tokens.input += line.usage?.inputTokens ?? 0;
  tally.tokens.output += line.usage?.outputTokens ?? 0;
  tally.negativeLengths.push(line.rejected.length);
  tally.ratios.push(line.rejected.length / Math.max(1, line.chosen.length));
}

function countReject(tally: Tally, line: RejectLine): void {
  bump(tally.rejectsByReason, line.reason);
  if (line.errorType) bump(tally.rejectsByType, line.errorType);
  tally.tokens.input += line.usage?.inputTokens ?? 0;
  tally.tokens.output += line.usage?.outputTokens ?? 0;
}

function summarise(tally: Tally, pairs: number, counters: RunCounters): InjectStats {
  const accepted = total(tally.acceptedByType);
  const rejected = total(tally.rejectsByReason);
  const { ktoDesirable: desirable, ktoUndesirable: undesirable } = tally;
  return {
    accepted,
    rejected,
    acceptanceRate: accepted + rejected === 0 ? 0 : Math.round((accepted / (accepted + rejected)) * 10_000) / 10_000,
    acceptedByType: tally.acceptedByType,
    exportedByType: tally.exportedByType,
    rejectsByReason: tally.rejectsByReason,
    rejectsByType: tally.rejectsByType,
    pairs,
    kto: {
      desirable,
      undesirable,
      // TRL advises desirable_weight·n_D / (undesirable_weight·n_U) in [1, 4/3].
      suggestedDesirableWeight: desirable === 0 ? 1 : Math.max(1, Math.round((undesirable / desirable) * 100) / 100),
    },
    tokens: tally.tokens,
    retries: counters.retries,
    cache: { hits: counters.cacheHits, misses: counters.cacheMisses },
    lengthsInCharacters: {
      positives: summariseLengths(tally.positiveLengths),
      negatives: summariseLengths(tally.negativeLengths),
      negativeToPositiveRatio: summariseLengths(tally.ratios),
    },
  };
}
