import type { Command } from "commander";
import { registerAnalyzeCommand } from "./analyze.js";
import { registerDemoCommand } from "./demo.js";
import { registerInjectCommand } from "./inject.js";
import { registerEvalCommand } from "./eval.js";
import { registerExportCommand } from "./export.js";
import { registerGenerateCommand } from "./generate.js";
import { registerModelCommand } from "./model.js";
import { registerTrainCommand } from "./train.js";
import { registerReportCommand } from "./report.js";
import { registerServeCommand } from "./serve.js";

/** Every `seapo` subcommand registers itself here: one import and one entry per command. */
export const commandRegistrars: Array<(program: Command) => void> = [
  registerInjectCommand,
  registerAnalyzeCommand,
  registerEvalCommand,
  registerModelCommand,
  registerTrainCommand,
  registerReportCommand,
  registerExportCommand,
  registerDemoCommand,
  registerGenerateCommand,
  registerServeCommand,
];
