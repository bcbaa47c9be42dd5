import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  llamaFactoryDatasetInfo,
  toDpoConversationalRow,
  toDpoRow,
  toKtoRows,
  toLlamaFactoryDpoRow,
  toLlamaFactoryKtoRows,
} from "../data/index.js";
import { journalFiles, type NegativeLine, type RejectLine } from "./inject.js";
import { bump, summariseLengths } from "./stats.js";
import { uniform, type Strategy } from "./strategy.js";
import { AtomicLineWriter, readRecords, writeFileAtomic } from "../io/index.js";

export const exportFiles = {
  dpo: "dpo.jsonl",
  dpoConversational: "dpo_conversational.jsonl",
  kto: "kto.jsonl",
  llamaFactoryDir: "llamafactory",
  llamaFactoryDpo: "seapo_dpo.jsonl",
  llamaFactoryKto: "seapo_kto.jsonl",
  stats: "stats.json",
} as const;

export interface RunCounters {
  retries: number;
  cacheHits: number;
  cacheMisses: number;
}

/**
 * Rebuilds every training file from the journals in one streaming pass. The journals keep a
 * prompt's negatives together, so `mixed` can pick one per prompt and KTO can write each
 * positive once without holding the data in memory. Each file appears whole or not at all.
 */
export async function exportDatasets(outDir: string, strategy: Strategy, seed: number, counters: RunCounters) {
  const lfDir = join(outDir, exportFiles.llamaFactoryDir);
  mkdirSync(lfDir, { recursive: true });
  const dpo = new AtomicLineWriter(join(outDir, exportFiles.dpo));
  const dpoConversational = new AtomicLineWriter(join(outDir, exportFiles.dpoConversational));
  const kto = new AtomicLineWriter(join(outDir, exportFiles.kto));
  const lfDpo = new AtomicLineWriter(join(lfDir, exportFiles.llamaFactoryDpo));
  const lfKto = new AtomicLineWriter(join(lfDir, exportFiles.llamaFactoryKto));

  const acceptedByType: Record<string, number> = {};
  const exportedByType: Record<string, number> = {};
  const tokens = { input: 0, output: 0 };
  const positiveLengths: number[] = [];
  const negativeLengths: number[] = [];
  const ratios: number[] = [];
  let kto_desirable = 0;
  let kto_undesirable = 0;

  const writeGroup = (group: NegativeLine[]) => {
    if (group.length === 0) return;
    positiveLengths.push(group[0]!.chosen.length);
    const kept =
      strategy.kind === "mixed"
        ? [group[Math.floor(uniform(seed, group[0]!.sourceId, "mixed") * group.length)]!]
        : group;
    kept.forEach((record, i) => {
      bump(exportedByType, record.errorType);
      dpo.write(toDpoRow(record));
      dpoConversational.write(toDpoConversationalRow(record));
      lfDpo.write(toLlamaFactoryDpoRow(record));
      const includeDesirable = i === 0; // each positive once per prompt
      for (const row of toKtoRows(record, { includeDesirable })) {
        kto.write(row);
        if (row.label) kto_desirable++;
        else kto_undesirable++;
      }
      for (const row of toLlamaFactoryKtoRows(record, { includeDesirable })) lfKto.write(row);
    });
  };

  let group: NegativeLine[] = [];
  for await (const line of readRecords<NegativeLine>(join(outDir, journalFiles.negatives))) {
    bump(acceptedByType, line.errorType);
    tokens.input += line.usage?.inputTokens ?? 0;
    tokens.output += line.usage?.outputTokens ?? 0;
    negativeLengths.push(line.rejected.length);
    ratios.push(line.rejected.length / Math.max(1, line.chosen.length));
    if (group.length > 0 && group[0]!.sourceId !== line.sourceId) {
      writeGroup(group);
      group = [];
    }
    group.push(line);
  }
  writeGroup(group);

  const rejectsByReason: Record<string, number> = {};
  const rejectsByType: Record<string, number> = {};
  for await (const line of readRecords<RejectLine>(join(outDir, journalFiles.rejects))) {
    bump(rejectsByReason, line.reason);
    if (line.errorType) bump(rejectsByType, line.errorType);
    tokens.input += line.usage?.inputTokens ?? 0;
    tokens.output += line.usage?.outputTokens ?? 0;
  }

  for (const writer of [dpo, dpoConversational, kto, lfDpo, lfKto]) writer.commit();
  writeFileAtomic(
    join(lfDir, "dataset_info.json"),
    `${JSON.stringify(llamaFactoryDatasetInfo({ dpoFile: exportFiles.llamaFactoryDpo, ktoFile: exportFiles.llamaFactoryKto, name: "seapo" }), null, 2)}\n`,
  );

  const accepted = Object.values(acceptedByType).reduce((a, b) => a + b, 0);
  const rejected = Object.values(rejectsByReason).reduce((a, b) => a + b, 0);
  const stats = {
    accepted,
    rejected,
    acceptanceRate: accepted + rejected === 0 ? 0 : Math.round((accepted / (accepted + rejected)) * 10_000) / 10_000,
    acceptedByType,
    exportedByType,
    rejectsByReason,
    rejectsByType,
    pairs: dpo.count,
    kto: {
      desirable: kto_desirable,
      undesirable: kto_undesirable,
      // TRL advises desirable_weight·n_D / (undesirable_weight·n_U) in [1, 4/3].
      suggestedDesirableWeight:
        kto_desirable === 0 ? 1 : Math.max(1, Math.round((kto_undesirable / kto_desirable) * 100) / 100),
    },
    tokens,
    retries: counters.retries,
    cache: { hits: counters.cacheHits, misses: counters.cacheMisses },
    lengthsInCharacters: {
      positives: summariseLengths(positiveLengths),
      negatives: summariseLengths(negativeLengths),
      negativeToPositiveRatio: summariseLengths(ratios),
    },
  };
  writeFileAtomic(join(outDir, exportFiles.stats), `${JSON.stringify(stats, null, 2)}\n`);
  return stats;
}
