/**
 * Renders the report as one self-contained HTML file: the chart libraries' UMD builds, the CSS,
 * the chart configurations (JSON in a script block) and a short boot script are all inline, and
 * a Content-Security-Policy of `default-src 'none'` forbids the page any network request.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { diffWords } from "diff";
import type { ArmResult, DemoResults, Spread } from "../demo/index.js";
import type { TabulatedResults } from "../eval/index.js";
import * as charts from "./charts.js";
import { logprobNotes, UNCERTAINTY_HEADER, uncertaintyRows, vanillaPairsNote } from "./demo-uncertainty.js";
import type { ChartSpec } from "./charts.js";
import type {
  AnalysisFile,
  Example,
  InjectSource,
  ReportSources,
  RunManifest,
  TrainRunFile,
  MetricsLine,
} from "./sources.js";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Word-level diff of a positive and its negative: removed words marked in the one, added in the other. */
export function diffHtml(positive: string, negative: string): { positive: string; negative: string } {
  let before = "";
  let after = "";
  for (const part of diffWords(positive, negative)) {
    const text = escapeHtml(part.value);
    if (part.added) after += `<ins class="diff-add">${text}</ins>`;
    else if (part.removed) before += `<del class="diff-del">${text}</del>`;
    else {
      before += text;
      after += text;
    }
  }
  return { positive: before, negative: after };
}

/** Collects the page's charts; each canvas names its configuration by id in data-chart. */
class ChartSet {
  readonly specs: Record<string, ChartSpec> = {};

  /** The canvas for a chart, or nothing when the builder had nothing to draw. */
  add(id: string, spec: ChartSpec | undefined, caption: string): string {
    if (spec === undefined) return "";
    this.specs[id] = spec;
    const canvas = `<canvas data-chart="${escapeHtml(id)}" role="img" aria-label="${escapeHtml(caption)}"></canvas>`;
    return `<figure><div class="chart">${canvas}</div><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
  }
}

export function renderReport(sources: ReportSources, generatedAt = new Date()): string {
  const set = new ChartSet();
  const sections = [
    sources.demo && demoSections(sources.demo, set),
    sources.train && trainSection(sources.train.metrics, sources.train.run, set),
    sources.inject && injectSection(sources.inject, set),
    sources.analysis && analysisSection(sources.analysis, set),
    sources.evals.length > 0 && evalSection(sources.evals),
    sources.manifest && manifestSection(sources.manifest),
  ].filter((s): s is string => typeof s === "string");
  const found = sources.found.map((name) => `<code>${escapeHtml(name)}</code>`).join(", ");
  const data = JSON.stringify({ charts: set.specs }).replace(/</g, "\\u003c"); // no "</script>" inside the block
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<title>seapo report: ${escapeHtml(sources.dir)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>seapo report</h1>
<p class="meta"><code>${escapeHtml(sources.dir)}</code> · generated ${escapeHtml(generatedAt.toISOString())}</p>
<p>Files found: ${found}.</p>
</header>
<main>
${sections.join("\n")}
</main>
<script type="application/json" id="report-data">${data}</script>
<script>${libraryCode()}</script>
<script>${BOOT}</script>
</body>
</html>
`;
}

/** What each section shows and how to read it, in one place. */
const EXPLAIN = {
  scores:
    "Accuracy of each model on the held-out questions of every dimension. Bars are the mean over seeds; whiskers span one " +
    "standard deviation either side, so a difference smaller than the whiskers is within seed noise.",
  errors:
    "What share of each model's answers is correct, and which error type each wrong answer shows. Preference training on " +
    "typed negatives should shrink the error types it was trained against.",
  curves:
    "Loss and reward margin (chosen minus rejected implicit reward, or its KTO analogue) at each logged step, averaged over " +
    "seeds. A margin that grows while accuracy stays flat means the negatives are easy to tell apart.",
  examples:
    "A few training pairs: the good answer, and the same answer after the injector added one error of the named type. " +
    "Words removed from the positive and added in the negative are highlighted.",
  config: "The resolved settings of the run and the wall time of each stage.",
  train:
    "A run of seapo train: the loss and the implicit rewards at each logged step, and the settings it ran with. A healthy " +
    "run raises the margin mostly by lowering the rejected reward while the chosen reward stays near zero or rises.",
  inject:
    "What seapo inject produced: rewrites that passed every check became negatives, the rest were rejected with a reason. " +
    "The examples are the first accepted negatives, with the injected change highlighted.",
  analysis:
    "How a judge classified the model's wrong answers. The most-common and weighted injection strategies read this distribution.",
  eval:
    "Scores from seapo eval, computed as lm-evaluation-harness does, with their standard errors. Two numbers closer than " +
    "about twice their combined standard error are within noise.",
  settings:
    "The settings the journals in this directory were made with (manifest.json); a resumed run must use the same ones.",
};

// ---- seapo demo: results.json

function demoSections(demo: DemoResults, set: ChartSet): string {
  const hasMc = demo.arms.some((arm) => arm.mc1 !== undefined || arm.mc2 !== undefined);
  const columns = [...demo.dimensions, "average", ...(hasMc ? ["MC1", "MC2"] : [])];
  const pick = (arm: ArmResult, column: string): Spread | undefined =>
    column === "average" ? arm.average : column === "MC1" ? arm.mc1 : column === "MC2" ? arm.mc2 : arm.scores[column];
  const scoreRows = demo.arms.map((arm) => [
    escapeHtml(arm.name),
    escapeHtml(describeArm(arm)),
    ...columns.map((c) => spread(pick(arm, c))),
    String(arm.trainRows),
  ]);
  const scores =
    set.add("demo-scores", charts.scoresChart(demo), "Accuracy per dimension, mean ± std over seeds") +
    set.add(
      "demo-mc",
      charts.multipleChoiceChart(demo),
      "Multiple-choice truthfulness: MC1 and MC2, mean ± std over seeds",
    ) +
    table(["arm", "method", ...columns, "training rows"], scoreRows) +
    bootstrapBlock(demo);

  const byType = Object.entries(demo.analysis.byType)
    .map(([type, n]) => `${escapeHtml(type)} ${n}`)
    .join(", ");
  const errors =
    set.add(
      "demo-error-mix",
      charts.errorMixChart(demo),
      "Error-type mix of the test answers, base model and each arm",
    ) +
    `<p>The base model's analysis, which the most-common strategy reads: ${demo.analysis.answers} answers, ` +
    `${demo.analysis.wrong} wrong${byType ? ` (${byType})` : ""}.</p>`;

  const curves =
    set.add("demo-loss", charts.demoCurveChart(demo, "loss"), "Training loss per arm (mean over seeds)") +
    set.add("demo-margin", charts.demoCurveChart(demo, "margin"), "Reward margin per arm (mean over seeds)");

  const total = demo.timings.reduce((sum, t) => sum + t.seconds, 0);
  const timings = [
    ...demo.timings.map((t) => [escapeHtml(t.stage), t.seconds.toFixed(1)]),
    ["<strong>total</strong>", `<strong>${total.toFixed(1)}</strong>`],
  ];
  const config =
    `<p>Seeds ${demo.seeds.join(", ")}; finished ${escapeHtml(demo.finishedAt)}.</p>` +
    table(["stage", "seconds"], timings) +
    pre(demo.config, true);

  return [
    section("demo-scores", "Scores by arm", EXPLAIN.scores, scores),
    section("demo-errors", "Kinds of mistakes", EXPLAIN.errors, errors),
    curves ? section("demo-curves", "Training curves", EXPLAIN.curves, curves) : "",
    section("demo-examples", "Injected negatives", EXPLAIN.examples, examplesTable(demo.examples)),
    section("demo-config", "Configuration and timings", EXPLAIN.config, config),
  ].join("\n");
}

/** Paired-bootstrap intervals and the vanilla-pair diagnostics, when results.json has them. */
function bootstrapBlock(demo: DemoResults): string {
  const rows = uncertaintyRows(demo);
  const note = vanillaPairsNote(demo);
  const verdict = demo.verdict?.length ? `<pre>${escapeHtml(demo.verdict.join("\n"))}</pre>` : "";
  const logprobs = logprobNotes(demo)
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join("");
  return (
    (rows ? table(UNCERTAINTY_HEADER, rows) : "") + verdict + (note ? `<p>${escapeHtml(note)}</p>` : "") + logprobs
  );
}

function describeArm(arm: ArmResult): string {
  return [arm.method, arm.strategy, arm.loss].filter((part) => part !== undefined).join(" · ");
}

function spread(value: Spread | undefined): string {
  if (value === undefined) return "–";
  return value.perSeed.length > 1 ? withError(value.mean, value.std, 3) : value.mean.toFixed(3);
}

function withError(value: number, error: number, digits: number): string {
  return `${value.toFixed(digits)} <span class="std">± ${error.toFixed(digits)}</span>`;
}

// ---- seapo train: metrics.jsonl, run.json

function trainSection(metrics: readonly MetricsLine[], run: TrainRunFile | undefined, set: ChartSet): string {
  const rewardKeys = ["rewards/margins", "rewards/chosen", "rewards/rejected", "eval_rewards/margins"];
  let body =
    set.add(
      "train-loss",
      charts.trainCurveChart(metrics, ["loss", "eval_loss"], "loss"),
      "Loss per logged step (eval dashed)",
    ) +
    set.add(
      "train-rewards",
      charts.trainCurveChart(metrics, rewardKeys, "implicit reward"),
      "Reward margin and the chosen and rejected rewards (eval dashed)",
    );
  if (run !== undefined) {
    const orDash = (value: number | undefined) => (value === undefined ? "–" : String(value));
    const elapsed = run.elapsedSeconds === undefined ? "–" : `${run.elapsedSeconds.toFixed(1)} s`;
    const { resolved, data } = run;
    const row = [
      escapeHtml(run.status ?? "–"),
      escapeHtml(run.config.loss),
      orDash(resolved?.totalSteps),
      orDash(data?.rows),
      orDash(resolved?.effectiveBatch),
      elapsed,
    ];
    body += table(["status", "loss", "steps", "rows", "effective batch", "elapsed"], [row]) + pre(run.config);
  }
  return section("train", "Training run", EXPLAIN.train, body);
}

// ---- seapo inject: negatives.jsonl, stats.json, rejects.jsonl

function injectSection(inject: InjectSource, set: ChartSet): string {
  const { stats } = inject;
  const pairs = stats.pairs === undefined ? "" : `, ${stats.pairs} pairs exported`;
  const body =
    `<p>${stats.accepted} rewrites accepted, ${stats.rejected} rejected${pairs}.</p>` +
    set.add("inject-types", charts.injectTypeChart(stats), "Accepted and rejected rewrites by error type") +
    set.add("inject-reasons", charts.rejectReasonChart(stats), "Rejected rewrites by reason") +
    (inject.examples.length > 0 ? examplesTable(inject.examples) : "");
  return section("inject", "Error injection", EXPLAIN.inject, body);
}

// ---- seapo analyze: analysis.json

function analysisSection(analysis: AnalysisFile, set: ChartSet): string {
  const totals =
    analysis.total === undefined
      ? ""
      : `<p>${analysis.total} answers graded: ${analysis.correct ?? "?"} correct, ${analysis.wrong ?? "?"} wrong ` +
        `(${analysis.unclassified ?? 0} without a known type). Most common error: ${escapeHtml(analysis.mostCommon ?? "none")}.</p>`;
  return section(
    "analysis",
    "Error analysis",
    EXPLAIN.analysis,
    totals + set.add("analysis-types", charts.analysisChart(analysis), "Wrong answers by error type"),
  );
}

// ---- seapo eval: results files

/** One row per task metric, one column per results file. */
function evalSection(evals: ReadonlyArray<{ file: string; results: TabulatedResults }>): string {
  const rows = new Map<string, string[]>();
  evals.forEach(({ results }, column) => {
    for (const [task, result] of Object.entries(results.results)) {
      for (const [metric, { value, stderr }] of Object.entries(result?.metrics ?? {})) {
        const cells = rows.get(`${task} ${metric}`) ?? evals.map(() => "–");
        cells[column] = value === null ? "–" : stderr === null ? value.toFixed(4) : withError(value, stderr, 4);
        rows.set(`${task} ${metric}`, cells);
      }
    }
  });
  const header = [
    "task / metric",
    ...evals.map(
      ({ file, results }) => `${escapeHtml(file)}<br><span class="std">${escapeHtml(results.model.modelId)}</span>`,
    ),
  ];
  return section(
    "eval",
    "Evaluation",
    EXPLAIN.eval,
    table(
      header,
      [...rows].map(([name, cells]) => [escapeHtml(name), ...cells]),
      true,
    ),
  );
}

function manifestSection(manifest: RunManifest): string {
  return section(
    "settings",
    `Settings of seapo ${escapeHtml(manifest.command ?? "inject")}`,
    EXPLAIN.settings,
    pre(manifest),
  );
}

// ---- building blocks

function section(id: string, title: string, explanation: string, body: string): string {
  return `<section id="${id}">\n<h2>${title}</h2>\n<p class="explain">${explanation}</p>\n${body}\n</section>`;
}

/** Cells are HTML already (callers escape text). */
function table(header: string[], rows: string[][], headerIsHtml = false): string {
  const th = header.map((h) => `<th>${headerIsHtml ? h : escapeHtml(h)}</th>`).join("");
  const tr = rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join("")}</tr>`).join("\n");
  return `<div class="table"><table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table></div>`;
}

function pre(value: unknown, open = false): string {
  return `<details${open ? " open" : ""}><summary>Configuration (JSON)</summary><pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre></details>`;
}

function examplesTable(examples: readonly Example[]): string {
  if (examples.length === 0) return "<p>No examples in this run.</p>";
  const rows = examples.map((example) => {
    const diff = diffHtml(example.positive, example.negative);
    const dimension = example.dimension ? `<br><span class="std">${escapeHtml(example.dimension)}</span>` : "";
    const text = (html: string) => `<div class="text">${html}</div>`;
    return [
      `<span class="tag">${escapeHtml(example.errorType)}</span>${dimension}`,
      text(escapeHtml(example.prompt)),
      text(diff.positive),
      text(diff.negative),
    ];
  });
  return `<div class="examples">${table(["error", "prompt", "positive", "injected negative"], rows)}</div>`;
}

/** Chart.js and the error-bar plugin, read from node_modules at report time. */
function libraryCode(): string {
  const require = createRequire(import.meta.url);
  // The packages' exports maps hide dist/; their UMD builds sit next to the CommonJS entry points.
  const files = [
    join(dirname(require.resolve("chart.js")), "chart.umd.min.js"),
    join(dirname(require.resolve("chartjs-chart-error-bars")), "index.umd.min.js"),
  ];
  return files
    .map((file) =>
      readFileSync(file, "utf8")
        .replace(/^\/\/# sourceMappingURL=.*$/m, "")
        .replace(/<\/script/gi, "<\\/script"),
    )
    .join("\n;\n");
}

/**
 * Draws every canvas[data-chart] and marks it data-rendered="true" once its datasets have drawn
 * elements; body[data-charts-rendered] holds the count, so a test can tell every chart worked.
 */
const BOOT = `
(() => {
  const { charts } = JSON.parse(document.getElementById("report-data").textContent);
  const bars = window.ChartErrorBars;
  Chart.register(bars.BarWithErrorBarsController, bars.BarWithErrorBar);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  let rendered = 0;
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    try {
      const chart = new Chart(canvas, charts[canvas.dataset.chart]);
      const drawn = chart.data.datasets.some((_, i) => chart.getDatasetMeta(i).data.length > 0);
      if (!drawn) throw new Error("no data points were drawn");
      canvas.dataset.rendered = "true";
      rendered++;
    } catch (error) {
      canvas.dataset.rendered = "false";
      canvas.parentElement.insertAdjacentText("afterend", "This chart could not be drawn: " + error.message);
      console.error("chart " + canvas.dataset.chart + ": " + error.message);
    }
  }
  document.body.dataset.chartsRendered = String(rendered);
})();
`;

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); }
header, main { max-width: 1120px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 36px 0 4px; }
.meta, .std, figcaption { color: var(--muted); }
.std { font-size: 0.85em; }
.explain { max-width: 75ch; }
figure { margin: 16px 0 24px; }
figcaption { font-size: 0.9em; text-align: center; }
.chart { position: relative; height: 340px; width: 100%; }
.table { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 0.92em; width: 100%; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td { font-variant-numeric: tabular-nums; }
.examples td { width: 28%; }
.examples td:first-child { width: 10%; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 18em; overflow-y: auto; }
.tag { background: var(--bg-soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; }
del.diff-del { background: #ffd7d5; color: #82071e; text-decoration: line-through; }
ins.diff-add { background: #ccffd8; color: #055d20; text-decoration: none; }
pre { background: var(--bg-soft); padding: 12px; overflow-x: auto; font-size: 0.85em; }
details { margin: 12px 0; }
summary { cursor: pointer; color: var(--muted); }
code { font-size: 0.92em; }
`;
