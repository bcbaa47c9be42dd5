import { appendFileSync } from "node:fs";
import type { Command } from "commander";
import { z } from "zod";
import { serveModel } from "../../llm/index.js";
import { addSchemaCommand } from "../schema-command.js";

/** Every option of `seapo serve`: flag, help line, default and range in one place. */
export const serveFlagsSchema = z.object({
  hf: z.string().meta({
    description: "the Llama/Qwen2 Hugging Face folder to serve (e.g. one written by `seapo model init`)",
    flag: "--hf <dir>",
    mandatory: true,
  }),
  adapter: z
    .string()
    .optional()
    .meta({ description: "a PEFT LoRA adapter folder, merged into the --hf weights at load", flag: "--adapter <dir>" }),
  host: z
    .string()
    .default("127.0.0.1")
    .meta({ description: "address to listen on (the default takes local connections only)", flag: "--host <addr>" }),
  port: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8000)
    .meta({ description: "port to listen on; 0 picks a free one", flag: "--port <n>" }),
  servedModelName: z.string().min(1).optional().meta({
    description: "the model name clients send and GET /v1/models lists (default: the folder's name)",
    flag: "--served-model-name <name>",
  }),
  logRequests: z.string().optional().meta({
    description: "append every request body to this JSONL file as {path, body}, as it arrives",
    flag: "--log-requests <file>",
  }),
  batchSize: z
    .number()
    .int()
    .positive()
    .default(8)
    .meta({ description: "prompts scored per forward pass (echo log-probs)", flag: "--batch-size <n>" }),
});
export type ServeFlags = z.output<typeof serveFlagsSchema>;

export function registerServeCommand(program: Command): void {
  addSchemaCommand(program, {
    name: "serve",
    summary: "serve a Hugging Face folder on seapo's engine over an OpenAI-compatible HTTP API",
    description:
      "Loads --hf (optionally with --adapter) on seapo's engine and answers GET /v1/models, POST /v1/completions " +
      "(text or token prompts, one or a list; logprobs, and echo with the prompt's own token log-probs, as " +
      "lm-evaluation-harness's local-completions and vLLM use them) and POST /v1/chat/completions (the model's chat " +
      "template; logprobs and top_logprobs). The first line on stdout is the base URL to give --base-url. " +
      "SIGINT or SIGTERM stops it.",
    schema: serveFlagsSchema,
    run: runServeCommand,
  });
}

async function runServeCommand(flags: ServeFlags): Promise<void> {
  const server = await serveModel({
    model: { dir: flags.hf, adapter: flags.adapter, batchSize: flags.batchSize },
    modelName: flags.servedModelName,
    host: flags.host,
    port: flags.port,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
    ...(flags.logRequests !== undefined && { onRequest: requestLog(flags.logRequests) }),
  });
  // Listening for the signals before the URL goes out: a client may stop the server as soon as it reads it.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  console.log(server.baseURL);
  process.stderr.write(`serving "${server.modelName}" from ${flags.hf}; SIGINT or SIGTERM stops it\n`);
  const signal = await stopped;
  await server.close();
  process.stderr.write(`stopped (${signal})\n`);
}

/** Appends synchronously, so the log is complete as soon as the reply has gone out. */
function requestLog(file: string): (path: string, body: unknown) => void {
  return (path, body) => appendFileSync(file, `${JSON.stringify({ path, body })}\n`);
}
