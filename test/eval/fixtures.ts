import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { UnsupportedError } from "../../src/errors.js";
import { toJsonLines } from "../../src/io/index.js";
import type { GenerateRequest, LanguageModel, LogprobRequest } from "../../src/llm/provider.js";

/** A data folder in a fresh temp dir, one entry per file (path relative to the folder → content). */
export function dataDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "seapo-eval-data-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** Rows as the text of a JSONL data file. */
export const jsonl = (rows: unknown[]) => toJsonLines(rows);

/**
 * A LanguageModel with scripted answers: `logprob(context, continuation)` and `generate(prompt, request)`.
 * It records every request it sees.
 */
export function scriptedModel(script: {
  logprob?: (context: string, continuation: string) => number;
  generate?: (prompt: string, request: GenerateRequest) => string;
}): LanguageModel & { logprobCalls: LogprobRequest[]; generateCalls: GenerateRequest[] } {
  const logprobCalls: LogprobRequest[] = [];
  const generateCalls: GenerateRequest[] = [];
  return {
    provider: "scripted",
    modelId: "scripted-model",
    logprobCalls,
    generateCalls,
    async logprobs(requests) {
      if (!script.logprob) throw new UnsupportedError("this scripted model has no log-probs");
      logprobCalls.push(...requests);
      return requests.map((r) => ({
        logprob: script.logprob!(r.context, r.continuation),
        isGreedy: false,
        tokenCount: 1,
      }));
    },
    async generate(request) {
      generateCalls.push(request);
      const text = script.generate ? script.generate(request.prompt ?? "", request) : "";
      return {
        text,
        finishReason: { unified: "stop", raw: "stop" },
        usage: { inputTokens: 1, outputTokens: 1 },
        warnings: [],
      };
    },
    async generateJson() {
      throw new UnsupportedError("not used");
    },
  };
}
