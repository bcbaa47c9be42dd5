import type { Command } from "commander";
import { z } from "zod";
import { InputError } from "../../errors.js";
import {
  generatePrompts,
  openModel,
  readPromptRows,
  type GenerationRecord,
  type ModelChoice,
  type PromptRow,
} from "../../llm/index.js";
import { modelChoice, modelOptionsSchema } from "../model-options.js";
import { createProgress } from "../progress.js";
import { addSchemaCommand } from "../schema-command.js";

/** Every option of `seapo generate`: flag, help line, default and range in one place. */
export const generateFlagsSchema = z.object({
  prompt: z.string().optional().meta({ description: "the prompt (or give --input)", flag: "--prompt <text>" }),
  input: z.string().optional().meta({
    description: "JSONL file of prompts: {id?, prompt} or {id?, messages: [{role, content}]}",
    flag: "--input <file>",
  }),
  out: z.string().optional().meta({
    description:
      "write JSONL records {id, model, text, finishReason, inputTokens, outputTokens, …} here instead of streaming to the terminal; a rerun skips the ids already in it",
    flag: "--out <file>",
  }),
  raw: z.boolean().default(false).meta({ description: "send the prompt as plain text, without the chat template" }),
  maxNewTokens: z.number().int().positive().default(256).meta({ description: "tokens to generate at most" }),
  temperature: z.number().min(0).default(0).meta({ description: "sampling temperature; 0 is greedy" }),
  topP: z
    .number()
    .gt(0)
    .max(1)
    .default(1)
    .meta({ description: "nucleus sampling: keep the most likely tokens up to this probability (1: off)" }),
  topK: z.number().int().min(0).default(0).meta({ description: "keep only the k most likely tokens (0: off)" }),
  seed: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: "random seed for sampling (row i of --input uses seed + i)" }),
  stop: z.array(z.string()).default([]).meta({
    description: 'stop strings, comma-separated; "\\n" and "\\t" stand for a newline and a tab',
    flag: "--stop <list>",
  }),
  adapter: z
    .string()
    .optional()
    .meta({ description: "a PEFT LoRA adapter folder to apply on top of the --hf base", flag: "--adapter <dir>" }),
  model: modelOptionsSchema().prefault({}),
});
export type GenerateFlags = z.output<typeof generateFlagsSchema>;

export function registerGenerateCommand(program: Command): void {
  addSchemaCommand(program, {
    name: "generate",
    summary: "sample text from a model (HF folder, GGUF file or server)",
    description:
      "Samples a continuation of one prompt (--prompt) or of every row of a JSONL file (--input) from a Hugging Face " +
      "folder on seapo's engine (--hf, optionally with --adapter), a GGUF file in llama.cpp (--gguf) or an " +
      "OpenAI-compatible server (--base-url and --model). Prompts go through the model's chat template as a user turn " +
      "unless --raw is given. Text streams to the terminal; with --out each prompt's result is written as one JSONL " +
      "record with its finish reason and token counts.",
    schema: generateFlagsSchema,
    run: runGenerateCommand,
  });
}

async function runGenerateCommand(flags: GenerateFlags): Promise<void> {
  const rows = await promptRows(flags);
  const choice = modelChoice(flags.model);
  if (choice === undefined)
    throw new InputError(
      "command line",
      undefined,
      undefined,
      "no model",
      "give --hf, --gguf, or --base-url and --model",
    );
  const opened = await openModel(withAdapter(choice, flags.adapter));
  // Filters left at "off" are not sent: servers differ in what they accept for off (top_k 0 or -1).
  const sampling = {
    maxTokens: flags.maxNewTokens,
    temperature: flags.temperature,
    ...(flags.topP < 1 && { topP: flags.topP }),
    ...(flags.topK > 0 && { topK: flags.topK }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    stop: flags.stop.map(unescapeStop),
  };
  try {
    const common = { model: opened.model, modelName: opened.name, rows, raw: flags.raw, sampling };
    if (flags.out === undefined) await streamToTerminal(common, rows.length > 1);
    else await writeRecords({ ...common, out: flags.out, concurrency: flags.model.concurrency });
  } finally {
    await opened.model.close?.();
  }
}

function withAdapter(choice: ModelChoice, adapter: string | undefined): ModelChoice {
  if (adapter === undefined) return choice;
  if (choice.kind !== "hf")
    throw new InputError("--adapter", undefined, undefined, "an adapter goes on a --hf base folder");
  return { ...choice, adapter };
}

type Common = Omit<Parameters<typeof generatePrompts>[0], "concurrency" | "out" | "onText" | "onRecord">;

/** One prompt at a time, its text on stdout as it comes; a line on stderr says how each ended. */
async function streamToTerminal(common: Common, headers: boolean): Promise<void> {
  let streamed = false;
  await generatePrompts({
    ...common,
    concurrency: 1,
    onText: (row, delta) => {
      if (!streamed && headers) process.stderr.write(`── ${row.id}\n`);
      streamed = true;
      process.stdout.write(delta);
    },
    onRecord: (row, record) => {
      // A backend that cannot stream gives the whole text at the end.
      if (!streamed) {
        if (headers) process.stderr.write(`── ${row.id}\n`);
        process.stdout.write(record.text);
      }
      process.stdout.write("\n");
      process.stderr.write(`${summary(record)}\n`);
      streamed = false;
    },
  });
}

async function writeRecords(options: Common & { out: string; concurrency: number }): Promise<void> {
  const progress = createProgress("generate", options.rows.length);
  const records = await generatePrompts({ ...options, onRecord: () => progress.increment() });
  progress.stop();
  console.log(`wrote ${records.length} records to ${options.out}`);
}

function summary(record: GenerationRecord): string {
  const raw = record.rawFinishReason ? ` (${record.rawFinishReason})` : "";
  return `[${record.finishReason}${raw} · ${record.inputTokens} prompt tokens · ${record.outputTokens} new tokens]`;
}

async function promptRows(flags: GenerateFlags): Promise<PromptRow[]> {
  if ((flags.prompt === undefined) === (flags.input === undefined))
    throw new InputError("command line", undefined, undefined, "give exactly one of --prompt or --input");
  return flags.input === undefined ? [{ id: "prompt", prompt: flags.prompt! }] : readPromptRows(flags.input);
}

function unescapeStop(stop: string): string {
  return stop.replace(/\\(n|t|\\)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"));
}
