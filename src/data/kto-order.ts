import { Rng } from "../engine/index.js";

/**
 * The order of unpaired (KTO) rows in a file that TRL or LLaMA-Factory will read.
 *
 * Why it matters: KTO's reference point z0 is estimated from "mismatched" rows, each prompt with
 * another row's completion, and both tools build those from the file's order. TRL rotates the
 * completions inside each per-device batch; LLaMA-Factory pairs every row with its neighbour's
 * answer. If one prompt's desirable and undesirable rows sit side by side, the "mismatched" row is
 * the prompt with its own other answer, and z0 collapses onto the batch's own rewards.
 *
 * `spreadByPrompt` orders rows so that no `window` consecutive rows share a prompt (every sliding
 * window, so it holds for any batch alignment and for neighbours across batch boundaries). Each
 * step takes a random row of the prompt with the most rows left among those not used in the last
 * `window - 1` steps; that greedy leaves no conflict whenever one is avoidable for groups of equal
 * size, and otherwise keeps the unavoidable ones few and counts them.
 */
export interface SpreadOptions {
  /** Rows in which no prompt may repeat: at least the per-device batch size. */
  window: number;
  seed: number;
}

export interface Spread<T> {
  rows: T[];
  /** Rows placed within `window` of an earlier row of the same prompt (0 unless unavoidable). */
  conflicts: number;
}

interface Group<T> {
  rows: T[];
  readyAt: number;
}

export function spreadByPrompt<T>(rows: readonly T[], promptOf: (row: T) => string, options: SpreadOptions): Spread<T> {
  const rng = new Rng(options.seed);
  const groups = groupByPrompt(rows, promptOf).map((group) => ({ rows: shuffle(group, rng), readyAt: 0 }));
  // buckets[c]: groups with c rows left that are out of cool-down; cooling: used recently, oldest first.
  const buckets: Group<T>[][] = [];
  for (const group of shuffle(groups, rng)) (buckets[group.rows.length] ??= []).push(group);
  const cooling: Group<T>[] = [];
  const out: T[] = [];
  let conflicts = 0;
  while (out.length < rows.length) {
    while (cooling.length > 0 && cooling[0]!.readyAt <= out.length) release(cooling.shift()!, buckets);
    let group = takeLargest(buckets, rng);
    if (!group) {
      group = cooling.shift()!;
      conflicts++;
    }
    out.push(group.rows.pop()!);
    group.readyAt = out.length + options.window - 1;
    if (group.rows.length > 0) cooling.push(group);
  }
  return { rows: out, conflicts };
}

/** Rows of one prompt that lie within `window` of each other: what TRL's and LLaMA-Factory's KL rows can pair. */
export function countWindowConflicts<T>(rows: readonly T[], promptOf: (row: T) => string, window: number): number {
  const lastSeen = new Map<string, number>();
  let conflicts = 0;
  rows.forEach((row, index) => {
    const prompt = promptOf(row);
    const last = lastSeen.get(prompt);
    if (last !== undefined && index - last < window) conflicts++;
    lastSeen.set(prompt, index);
  });
  return conflicts;
}

function groupByPrompt<T>(rows: readonly T[], promptOf: (row: T) => string): T[][] {
  const byPrompt = new Map<string, T[]>();
  for (const row of rows) {
    const prompt = promptOf(row);
    const group = byPrompt.get(prompt);
    if (group) group.push(row);
    else byPrompt.set(prompt, [row]);
  }
  return [...byPrompt.values()];
}

function release<T>(group: Group<T>, buckets: Group<T>[][]): void {
  (buckets[group.rows.length] ??= []).push(group);
}

function takeLargest<T>(buckets: Group<T>[][], rng: Rng): Group<T> | undefined {
  for (let size = buckets.length - 1; size > 0; size--) {
    const bucket = buckets[size];
    if (!bucket || bucket.length === 0) continue;
    const index = Math.floor(rng.next() * bucket.length);
    const group = bucket[index]!;
    bucket[index] = bucket[bucket.length - 1]!;
    bucket.pop();
    return group;
  }
  return undefined;
}

/** Fisher–Yates with the seeded generator, on a copy. */
function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
