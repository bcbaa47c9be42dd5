/**
 * How TRL and LLaMA-Factory build KTO's KL ("mismatched") rows from a file's row order, re-implemented
 * from their sources so a test can check a written kto file against the real rule:
 *
 *  - TRL v1.9.0 (commit 35def3ee000a87f6839e66f4b7749b06274ed1b3), trl/trainer/kto_trainer.py,
 *    KTOTrainer._prepare_dataset → add_kl_completion_ids, applied by `dataset.map(batched=True,
 *    batch_size=args.per_device_train_batch_size, num_proc=args.dataset_num_proc)`: inside each chunk
 *    of per_device_train_batch_size consecutive rows, row i takes the completion of row i-1 and the
 *    chunk's first row takes the chunk's last. The same +1 rotation in the same batched map is
 *    `_get_kl_dataset` in trl/experimental/kto/kto_trainer.py at v0.24–v0.28. Training then reads the
 *    rows in file order (KTOConfig.train_sampling_strategy "sequential", or a SequentialSampler).
 *  - LLaMA-Factory commit ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30 (v0.9.5-54),
 *    src/llamafactory/data/processor/feedback.py, FeedbackDatasetProcessor.preprocess_dataset: the
 *    same +1 rotation of `_response`, over the chunks of `dataset.map(batched=True,
 *    batch_size=data_args.preprocessing_batch_size)` (default 1000) in data/loader.py
 *    `_get_preprocessed_dataset`. The pairing is computed before rows are skipped, so a skipped row
 *    does not shift it; the trainer may shuffle afterwards, but each row keeps its KL partner.
 *
 * With num_proc > 1, `datasets` first cuts the file into contiguous shards (Dataset.shard with
 * contiguous=True: the first n % k shards get one row more) and chunks each shard from its start.
 * Both simulations assume no row is dropped before the map (TRL drops rows whose prompt alone fills
 * max_length; such a drop shifts the chunks after it).
 */

/** One KL row: the prompt of `row` with the completion of `partner` (indices into the file's rows). */
export interface KlPair {
  row: number;
  partner: number;
}

export interface ChunkOptions {
  /** `dataset_num_proc` (TRL) or `preprocessing_num_workers` (LLaMA-Factory); none or 1: one shard. */
  numProc?: number;
}

/** TRL: the +1 rotation inside each chunk of `perDeviceBatch` rows. */
export function trlKlPairs(rows: readonly unknown[], perDeviceBatch: number, options: ChunkOptions = {}): KlPair[] {
  if (!Number.isInteger(perDeviceBatch) || perDeviceBatch < 1) throw new Error(`perDeviceBatch ${perDeviceBatch}`);
  return rotatedPairs(rows.length, perDeviceBatch, options.numProc ?? 1);
}

/** LLaMA-Factory: the +1 rotation inside each chunk of `preprocessing_batch_size` rows (default 1000). */
export function llamaFactoryKlPairs(
  rows: readonly unknown[],
  options: ChunkOptions & { preprocessingBatchSize?: number } = {},
): KlPair[] {
  return rotatedPairs(rows.length, options.preprocessingBatchSize ?? 1000, options.numProc ?? 1);
}

/** The share (0..1) of KL rows whose prompt is their own row's prompt: what breaks KTO's reference point. */
export function sharedPromptShare<T>(
  rows: readonly T[],
  pairs: readonly KlPair[],
  promptOf: (row: T) => string,
): number {
  if (pairs.length === 0) return 0;
  const shared = pairs.filter((p) => promptOf(rows[p.row]!) === promptOf(rows[p.partner]!)).length;
  return shared / pairs.length;
}

function rotatedPairs(count: number, chunk: number, numProc: number): KlPair[] {
  const pairs: KlPair[] = [];
  for (const [start, end] of contiguousShards(count, numProc)) {
    for (let from = start; from < end; from += chunk) {
      const to = Math.min(from + chunk, end);
      for (let i = from; i < to; i++) pairs.push({ row: i, partner: i === from ? to - 1 : i - 1 });
    }
  }
  return pairs;
}

/** datasets' Dataset.shard(k, index, contiguous=True) bounds for every index. */
function contiguousShards(count: number, numProc: number): Array<[number, number]> {
  const shards = Math.max(1, Math.min(numProc, count));
  const div = Math.floor(count / shards);
  const mod = count % shards;
  return Array.from({ length: shards }, (_, index) => {
    const start = div * index + Math.min(index, mod);
    return [start, start + div + (index < mod ? 1 : 0)] as [number, number];
  });
}
