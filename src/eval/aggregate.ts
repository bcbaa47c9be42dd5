/**
 * The harness's aggregation of per-example metrics into a task's table: plain means with the
 * sample stderr of the mean, subtasks pooled by size, groups over their own subtasks.
 */
import { mean, meanStderr, pooledStderr } from "./metrics.js";
import type { TaskDefinition } from "./types.js";

export interface MetricValue {
  value: number;
  /** Standard error of the value; null when it cannot be estimated (fewer than two examples). */
  stderr: number | null;
}

export interface MetricTable {
  n: number;
  metrics: Record<string, MetricValue>;
}

function table(rows: ReadonlyArray<Record<string, number>>, metrics: readonly string[]): MetricTable {
  return {
    n: rows.length,
    metrics: Object.fromEntries(
      metrics.map((m) => {
        const xs = rows.map((r) => r[m]!);
        return [m, { value: mean(xs), stderr: meanStderr(xs) }];
      }),
    ),
  };
}

/** Size-weighted mean of several tables and the harness's pooled stderr. */
function pool(parts: readonly MetricTable[], metrics: readonly string[]): MetricTable {
  const sizes = parts.map((p) => p.n);
  const n = sizes.reduce((a, b) => a + b, 0);
  return {
    n,
    metrics: Object.fromEntries(
      metrics.map((m) => {
        const value = parts.reduce((sum, p) => sum + p.metrics[m]!.value * p.n, 0) / n;
        return [
          m,
          {
            value,
            stderr: pooledStderr(
              parts.map((p) => p.metrics[m]!.stderr),
              sizes,
            ),
          },
        ];
      }),
    ),
  };
}

/** The plain mean of the subtasks' values (open-instruct's BBH average); stderr sqrt(Σ se²)/k. */
function equalMean(parts: readonly MetricTable[], metrics: readonly string[]): MetricTable {
  const k = parts.length;
  const value = (m: string) => parts.reduce((sum, p) => sum + p.metrics[m]!.value, 0) / k;
  const stderr = (m: string) => {
    const ses = parts.map((p) => p.metrics[m]!.stderr);
    if (ses.some((se) => se === null)) return null;
    return Math.sqrt(ses.reduce((sum: number, se) => sum + se! ** 2, 0)) / k;
  };
  return {
    n: parts.reduce((sum, p) => sum + p.n, 0),
    metrics: Object.fromEntries(metrics.map((m) => [m, { value: value(m), stderr: stderr(m) }])),
  };
}

/**
 * The harness's aggregation: a plain task is the mean of its examples with the sample stderr of
 * the mean; a task with subtasks is the size-weighted mean of its subtasks with their pooled stderr,
 * and so is each group (MMLU's categories) over its own subtasks.
 */
export function aggregate(
  definition: Pick<TaskDefinition, "metrics" | "groupOf" | "subtaskMean">,
  rows: ReadonlyArray<{ subtask?: string; metrics: Record<string, number> }>,
): MetricTable & { subtasks?: Record<string, MetricTable>; groups?: Record<string, MetricTable> } {
  const metrics = definition.metrics;
  if (rows.length === 0)
    return { n: 0, metrics: Object.fromEntries(metrics.map((m) => [m, { value: Number.NaN, stderr: null }])) };
  if (rows.every((r) => r.subtask === undefined))
    return table(
      rows.map((r) => r.metrics),
      metrics,
    );
  const bySubtask = new Map<string, Array<Record<string, number>>>();
  for (const r of rows) {
    const key = r.subtask ?? "";
    if (!bySubtask.has(key)) bySubtask.set(key, []);
    bySubtask.get(key)!.push(r.metrics);
  }
  const subtasks = Object.fromEntries([...bySubtask].map(([name, xs]) => [name, table(xs, metrics)]));
  if (definition.subtaskMean === "equal") return { ...equalMean(Object.values(subtasks), metrics), subtasks };
  if (!definition.groupOf) return { ...pool(Object.values(subtasks), metrics), subtasks };
  const byGroup = new Map<string, MetricTable[]>();
  for (const [name, t] of Object.entries(subtasks)) {
    const group = definition.groupOf(name);
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group)!.push(t);
  }
  const groups = Object.fromEntries([...byGroup].map(([name, parts]) => [name, pool(parts, metrics)]));
  // The harness aggregates a group from its leaf tasks, so the top-level stderr pools the subtasks, not the groups.
  return { ...pool(Object.values(subtasks), metrics), groups, subtasks };
}
