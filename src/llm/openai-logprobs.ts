import { ProviderError, UnsupportedError } from "../errors.js";
import type { LogprobRequest, LogprobResult } from "./provider.js";

/**
 * Log-likelihood scoring over legacy completions with `echo`: the server returns the prompt's own
 * tokens with their log-probs, and the continuation's share of them is summed. Requests are sent
 * `batchSize` prompts to a request (`prompt: [...]`), as lm-evaluation-harness's local-completions
 * does; the batch fills with whatever requests wait while the connection's slots are busy.
 */

/** The part of a legacy completions choice that echo scoring reads. */
export interface EchoChoice {
  index: number;
  logprobs?: {
    /** llama-server's shape: the generated tokens only, as on chat completions. */
    content?: unknown[] | null;
    tokens?: string[];
    token_logprobs?: Array<number | null>;
    text_offset?: number[];
    top_logprobs?: Array<Record<string, number> | null> | null;
  } | null;
}

export interface EchoScorerOptions {
  /** Who is asked, for error messages: "<baseURL> (<model>)". */
  describe: string;
  /** Prompts per request; 1 sends each prompt alone. */
  batchSize: number;
  /** Runs `fn` when the connection has a free slot (the request queue). */
  whenFree<T>(fn: () => Promise<T>): Promise<T>;
  /** One legacy completions request with echo for these prompts, retried as the policy allows. */
  send(prompts: string[], signal: AbortSignal | undefined): Promise<EchoChoice[]>;
}

interface Waiting {
  request: LogprobRequest;
  resolve: (result: LogprobResult) => void;
  reject: (error: unknown) => void;
}

export function createEchoScorer(options: EchoScorerOptions): (request: LogprobRequest) => Promise<LogprobResult> {
  const waiting: Waiting[] = [];
  let queuedBatches = 0; // batches queued for a slot that have not yet taken their requests

  const schedule = () => {
    while (waiting.length > queuedBatches * options.batchSize) {
      queuedBatches++;
      void options.whenFree(async () => {
        // Requests that arrive in this turn of the event loop join the batch.
        await new Promise((resolve) => setImmediate(resolve));
        queuedBatches--;
        const batch = waiting.splice(0, options.batchSize);
        schedule();
        if (batch.length > 0) await sendBatch(options, batch);
      });
    }
  };

  return (request) =>
    new Promise<LogprobResult>((resolve, reject) => {
      waiting.push({ request, resolve, reject });
      schedule();
    });
}

async function sendBatch(options: EchoScorerOptions, batch: Waiting[]): Promise<void> {
  const prompts = batch.map(({ request }) => request.context + request.continuation);
  const signals = new Set(batch.map(({ request }) => request.signal));
  try {
    // One shared signal (or none) is passed on; requests with signals of their own are not cut short.
    const choices = await options.send(prompts, signals.size === 1 ? [...signals][0] : undefined);
    const byIndex = new Map(choices.map((choice) => [choice.index, choice]));
    batch.forEach(({ request, resolve, reject }, i) => {
      try {
        resolve(scoreChoice(options.describe, request, byIndex.get(i)));
      } catch (error) {
        reject(error);
      }
    });
  } catch (error) {
    const refusal = echoRefusal(options.describe, error);
    for (const { reject } of batch) reject(refusal ?? error);
  }
}

function scoreChoice(describe: string, request: LogprobRequest, choice: EchoChoice | undefined): LogprobResult {
  if (!choice)
    throw new ProviderError(`${describe}: the response has no choice for this prompt`, { isRetryable: false });
  const lp = choice.logprobs;
  if (!lp?.tokens || !lp.token_logprobs || !lp.text_offset) {
    // llama-server (the llama.cpp in node-llama-cpp 3.22.1) answers echo with HTTP 200, ignoring it:
    // log-probs of the generated token only, in the chat shape.
    const what = Array.isArray(lp?.content)
      ? "ignored echo: it returned the log-probs of the generated token only, in the chat shape llama.cpp's llama-server uses,"
      : "returned no log-probs";
    throw new UnsupportedError(
      `${describe} ${what} not those of the prompt's tokens, which log-likelihood scoring needs. ${WHERE}`,
    );
  }
  const tokens = {
    tokens: lp.tokens,
    tokenLogprobs: lp.token_logprobs,
    textOffset: lp.text_offset,
    topLogprobs: lp.top_logprobs,
  };
  const from = request.context.length;
  return sumContinuation(tokens, from, from + request.continuation.length);
}

const WHERE = "Serve the model with vLLM or SGLang, or run it in-process with --gguf or --hf";

/**
 * A server that refuses `echo` outright answers HTTP 400 naming it: llama-server builds whose
 * completions parser is live say "Only no echo is supported" (that parser is still in the source
 * of node-llama-cpp 3.22.1's llama.cpp, but unused: this build ignores echo, see scoreChoice).
 * Either way llama-server has no prompt log-probs. That becomes an UnsupportedError saying where
 * log-likelihood scoring does work.
 */
export function echoRefusal(describe: string, error: unknown): UnsupportedError | undefined {
  if (!(error instanceof ProviderError) || error.options.status !== 400 || !/\becho\b/i.test(error.message)) {
    return undefined;
  }
  const server = /only no echo is supported/i.test(error.message) ? "llama.cpp's llama-server" : "the server";
  return new UnsupportedError(
    `${describe} refused echo (${error.message}): ${server} gives no log-probs of the prompt's tokens, which log-likelihood scoring needs. ${WHERE}`,
    { cause: error },
  );
}

/** Sum the log-probs of the tokens that start inside [from, to) of the echoed text. */
export function sumContinuation(
  lp: {
    tokens: string[];
    tokenLogprobs: ReadonlyArray<number | null>;
    textOffset: number[];
    topLogprobs?: ReadonlyArray<Record<string, number> | null> | null;
  },
  from: number,
  to: number,
): LogprobResult {
  let logprob = 0;
  let isGreedy = true;
  let tokenCount = 0;
  lp.tokens.forEach((token, i) => {
    const offset = lp.textOffset[i] ?? -1;
    if (offset < from || offset >= to) return;
    const value = lp.tokenLogprobs[i];
    if (value === null || value === undefined) return;
    logprob += value;
    tokenCount++;
    const top = lp.topLogprobs?.[i];
    if (top) {
      const best = Object.entries(top).reduce((a, b) => (b[1] > a[1] ? b : a));
      if (best[0] !== token) isGreedy = false;
    }
  });
  return { logprob, isGreedy, tokenCount };
}
