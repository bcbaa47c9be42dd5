/**
 * Chart.js configurations, built here as plain JSON and drawn in the page. Error bars come from
 * chartjs-chart-error-bars (`barWithErrorBars`: each point is {y, yMin, yMax}). A builder returns
 * undefined when it has nothing to draw, so the page never holds an empty chart.
 */
import { ERROR_MIX_KEYS, type ArmResult, type DemoResults, type ErrorMix, type Spread } from "../demo/index.js";
import type { AnalysisFile, InjectCounts, MetricsLine } from "./sources.js";

export interface ChartSpec {
  type: "bar" | "line" | "barWithErrorBars";
  data: { labels?: string[]; datasets: Array<Record<string, unknown>> };
  options: Record<string, unknown>;
}

const PALETTE = [
  "#4c78a8",
  "#f58518",
  "#54a24b",
  "#b279a2",
  "#e45756",
  "#72b7b2",
  "#eeca3b",
  "#9d755d",
  "#ff9da6",
  "#bab0ac",
];
const BASE_COLOR = "#8c8c8c";
/** Green for correct, then one colour per error type in the table's order. */
const MIX_PALETTE = ["#54a24b", "#f58518", "#4c78a8", "#e45756", "#b279a2", "#72b7b2"];
export const MIX_COLORS = Object.fromEntries(
  ERROR_MIX_KEYS.map((key, i) => [key, MIX_PALETTE[i % MIX_PALETTE.length]!]),
) as Record<keyof ErrorMix, string>;
const MIX_KEYS = ERROR_MIX_KEYS;

/** The base arm is grey; the others take the palette in order, the same in every chart. */
function armColors(arms: readonly ArmResult[]): Map<string, string> {
  let next = 0;
  return new Map(arms.map((arm) => [arm.name, arm.method === "base" ? BASE_COLOR : PALETTE[next++ % PALETTE.length]!]));
}

/** Sized by its container (see .chart in the page's CSS); no animation, so a chart is drawn once created. */
function options(scales: Record<string, unknown>, legend = true): Record<string, unknown> {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { display: legend, position: "bottom" } },
    scales,
  };
}

function axis(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { display: true, text }, ...extra };
}

/** A missing figure is a gap: the plugin needs the object even then (a bare null throws). */
function errorBar(spread: Spread | undefined): { y: number | null; yMin: number | null; yMax: number | null } {
  return spread === undefined
    ? { y: null, yMin: null, yMax: null }
    : { y: spread.mean, yMin: spread.mean - spread.std, yMax: spread.mean + spread.std };
}

function groupedScores(
  arms: readonly ArmResult[],
  labels: string[],
  pick: (arm: ArmResult, label: string) => Spread | undefined,
  yTitle: string,
): ChartSpec {
  const colors = armColors(arms);
  return {
    type: "barWithErrorBars",
    data: {
      labels,
      datasets: arms.map((arm) => ({
        label: arm.name,
        backgroundColor: colors.get(arm.name),
        data: labels.map((label) => errorBar(pick(arm, label))),
      })),
    },
    options: options({ y: axis(yTitle, { min: 0, suggestedMax: 1 }) }),
  };
}

/** Accuracy per dimension and the average, one bar per arm, whiskers at mean ± std over seeds. */
export function scoresChart(demo: DemoResults): ChartSpec {
  const labels = [...demo.dimensions, "average"];
  return groupedScores(
    demo.arms,
    labels,
    (arm, label) => (label === "average" ? arm.average : arm.scores[label]),
    "accuracy (mean ± std over seeds)",
  );
}

/** TruthfulQA-style MC1/MC2, when any arm has them. */
export function multipleChoiceChart(demo: DemoResults): ChartSpec | undefined {
  if (!demo.arms.some((arm) => arm.mc1 !== undefined || arm.mc2 !== undefined)) return undefined;
  return groupedScores(
    demo.arms,
    ["MC1", "MC2"],
    (arm, label) => (label === "MC1" ? arm.mc1 : arm.mc2),
    "score (mean ± std over seeds)",
  );
}

/** Share of correct answers and of each error type, one stacked bar per arm. */
export function errorMixChart(demo: DemoResults): ChartSpec {
  return {
    type: "bar",
    data: {
      labels: demo.arms.map((arm) => arm.name),
      datasets: MIX_KEYS.map((key) => ({
        label: key,
        backgroundColor: MIX_COLORS[key],
        maxBarThickness: 120,
        data: demo.arms.map((arm) => round(100 * arm.errorMix[key])),
      })),
    },
    options: options({ x: { stacked: true }, y: axis("% of test answers", { stacked: true, min: 0, max: 100 }) }),
  };
}

/** One line per trained arm: the mean over seeds of `key` at each logged step. */
export function demoCurveChart(demo: DemoResults, key: "loss" | "margin"): ChartSpec | undefined {
  const colors = armColors(demo.arms);
  const datasets = demo.arms
    .filter((arm) => arm.curves.some((curve) => curve.points.length > 0))
    .map((arm) => {
      const byStep = new Map<number, number[]>();
      for (const curve of arm.curves)
        for (const point of curve.points) byStep.set(point.step, [...(byStep.get(point.step) ?? []), point[key]]);
      const data = [...byStep]
        .sort((a, b) => a[0] - b[0])
        .map(([step, values]) => ({ x: step, y: values.reduce((s, v) => s + v, 0) / values.length }));
      return {
        label: arm.name,
        borderColor: colors.get(arm.name),
        backgroundColor: colors.get(arm.name),
        data,
        pointRadius: 0,
        borderWidth: 2,
      };
    });
  if (datasets.length === 0) return undefined;
  return lineChart(datasets, key === "loss" ? "loss" : "reward margin");
}

/** Lines of the metrics.jsonl keys that are present; eval_* keys are drawn dashed. */
export function trainCurveChart(
  metrics: readonly MetricsLine[],
  keys: readonly string[],
  yTitle: string,
): ChartSpec | undefined {
  const datasets = keys
    .map((key, i) => {
      const data = metrics.flatMap((line) => (typeof line[key] === "number" ? [{ x: line.step, y: line[key] }] : []));
      const color = PALETTE[i % PALETTE.length]!;
      const dash = key.startsWith("eval_") ? { borderDash: [6, 4] } : {};
      return {
        label: key,
        borderColor: color,
        backgroundColor: color,
        data,
        pointRadius: data.length > 30 ? 0 : 2,
        borderWidth: 2,
        ...dash,
      };
    })
    .filter((dataset) => dataset.data.length > 0);
  return datasets.length === 0 ? undefined : lineChart(datasets, yTitle);
}

function lineChart(datasets: Array<Record<string, unknown>>, yTitle: string): ChartSpec {
  return {
    type: "line",
    data: { datasets },
    options: options({ x: axis("step", { type: "linear" }), y: axis(yTitle) }),
  };
}

/** A plain bar chart of named counts; several series share the labels. */
export function countsChart(
  series: Array<{ label: string; counts: Record<string, number> }>,
  yTitle: string,
): ChartSpec | undefined {
  const labels = [...new Set(series.flatMap((s) => Object.keys(s.counts)))];
  if (labels.length === 0) return undefined;
  return {
    type: "bar",
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        backgroundColor: PALETTE[i % PALETTE.length],
        maxBarThickness: 72,
        data: labels.map((label) => s.counts[label] ?? 0),
      })),
    },
    options: options({ y: axis(yTitle, { min: 0, ticks: { precision: 0 } }) }, series.length > 1),
  };
}

export function injectTypeChart(stats: InjectCounts): ChartSpec | undefined {
  return countsChart(
    [
      { label: "accepted", counts: stats.acceptedByType },
      { label: "rejected", counts: stats.rejectsByType },
    ],
    "negatives",
  );
}

export function rejectReasonChart(stats: InjectCounts): ChartSpec | undefined {
  return countsChart([{ label: "rejects", counts: stats.rejectsByReason }], "rejected rewrites");
}

/** Wrong answers by error type: the counts when analyze wrote them, else the shares. */
export function analysisChart(analysis: AnalysisFile): ChartSpec | undefined {
  if (analysis.counts !== undefined)
    return countsChart([{ label: "wrong answers", counts: analysis.counts }], "wrong answers");
  const shares = Object.fromEntries(
    Object.entries(analysis.distribution).map(([type, share]) => [type, round(100 * share)]),
  );
  return countsChart([{ label: "share", counts: shares }], "% of classified wrong answers");
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
