import type { Command } from "commander";
import { buildReport } from "../../report/index.js";

export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .summary("write a self-contained HTML report of a run directory")
    .description(
      "Reads what a run directory holds — results.json of seapo demo, metrics.jsonl and run.json of seapo train, " +
        "negatives.jsonl, stats.json and rejects.jsonl of seapo inject, analysis.json of seapo analyze, results files " +
        "of seapo eval — and writes one HTML file with charts and tables that opens offline. Prints its path.",
    )
    .argument("<dir>", "the run directory (the --out folder of a seapo command)")
    .option("--out <file>", "where to write the report (default <dir>/report.html)")
    .action(async (dir: string, flags: { out?: string }) => {
      console.log(await buildReport(dir, { out: flags.out }));
    });
}
