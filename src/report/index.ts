import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { REPORT_FILE } from "../demo/index.js";
import { renderReport } from "./html.js";
import { readSources } from "./sources.js";

export { readSources, REPORT_SOURCES, type ReportSources } from "./sources.js";
export { renderReport, escapeHtml, diffHtml } from "./html.js";

/** Reads what `dir` holds, writes the HTML report (default `dir/report.html`) and returns its path. */
export async function buildReport(dir: string, options: { out?: string } = {}): Promise<string> {
  const html = renderReport(await readSources(dir));
  const out = options.out ?? join(dir, REPORT_FILE);
  await writeFile(out, html);
  return out;
}
