/**
 * One model served by several OpenAI-compatible endpoints (vLLM data-parallel replicas, a few
 * llama.cpp servers, a hosted API). Each request goes to the endpoint with the fewest requests in
 * flight relative to its weight; an endpoint that fails (connection refused or reset, a run of
 * 5xx or timeouts) is cooled down with exponential backoff while its requests retry elsewhere,
 * and rejoins when the cool-down ends. The pool's identity is the model name alone, so the
 * request cache and the journals do not depend on which endpoint answered.
 */
import { ProviderError } from "../errors.js";
import { createOpenAIModel } from "./openai.js";
import type { GenerateResult, LanguageModel } from "./provider.js";
import { withRetry, type RetryEvent, type RetryPolicy } from "./retry.js";
import { LatencyHistogram } from "./latency.js";

export interface EndpointSpec {
  /** Base URL ending in /v1. */
  url: string;
  model: string;
  weight: number;
  /** Requests in flight at once on this endpoint. */
  maxConcurrency: number;
  /** Read from the environment by the caller; never logged. */
  apiKey?: string;
}

export interface CooldownPolicy {
  /** 5xx replies or timeouts in a row that take an endpoint out (a refused connection does at once). */
  failuresInARow: number;
  baseMs: number;
  maxMs: number;
}

export const defaultCooldown: CooldownPolicy = { failuresInARow: 3, baseMs: 1_000, maxMs: 60_000 };

export interface PoolOptions {
  endpoints: EndpointSpec[];
  /** Requests in flight across all endpoints. */
  concurrency: number;
  timeoutMs?: number;
  /** Log-likelihood prompts per request, passed to each endpoint's client. */
  batchSize?: number;
  retry?: Partial<RetryPolicy>;
  onRetry?: (event: RetryEvent) => void;
  cooldown?: Partial<CooldownPolicy>;
  /** Told when an endpoint is taken out or rejoins. */
  onEndpointEvent?: (message: string) => void;
}

/** Per-endpoint counts for stats.json and the summary. */
export interface EndpointStats {
  url: string;
  model: string;
  weight: number;
  requests: number;
  errors: number;
  cooldowns: number;
  latencyMs: { p50: number; p95: number };
  tokens: { input: number; output: number };
}

export type PooledModel = LanguageModel & { endpointStats(): EndpointStats[] };

/** The provider and id of a model served over the OpenAI API, wherever it is served. */
export function servedModel(model: string): Pick<LanguageModel, "provider" | "modelId"> {
  return { provider: "openai-compatible", modelId: model };
}

interface Endpoint {
  spec: EndpointSpec;
  model: LanguageModel;
  inFlight: number;
  failuresInARow: number;
  level: number;
  coolUntil: number;
  stats: { requests: number; errors: number; cooldowns: number; input: number; output: number };
  latency: LatencyHistogram;
}

export function createEndpointPool(options: PoolOptions): PooledModel {
  const cooldown = { ...defaultCooldown, ...options.cooldown };
  const endpoints: Endpoint[] = options.endpoints.map((spec) => ({
    spec,
    // One attempt per endpoint call: the pool retries, choosing the endpoint afresh each time.
    model: createOpenAIModel({
      baseURL: spec.url,
      model: spec.model,
      apiKey: spec.apiKey,
      concurrency: spec.maxConcurrency,
      batchSize: options.batchSize,
      timeoutMs: options.timeoutMs,
      retry: { retries: 0 },
    }),
    inFlight: 0,
    failuresInARow: 0,
    level: 0,
    coolUntil: 0,
    stats: { requests: 0, errors: 0, cooldowns: 0, input: 0, output: 0 },
    latency: new LatencyHistogram(),
  }));
  const slots = new Slots(endpoints, options.concurrency);
  const health = (endpoint: Endpoint, error: unknown) => {
    endpoint.stats.errors++;
    if (!(error instanceof ProviderError) || !error.isRetryable) return;
    endpoint.failuresInARow++;
    if (!isRefused(error) && endpoint.failuresInARow < cooldown.failuresInARow) return;
    const waitMs = Math.min(cooldown.maxMs, cooldown.baseMs * 2 ** endpoint.level);
    endpoint.level++;
    endpoint.failuresInARow = 0;
    endpoint.coolUntil = Date.now() + waitMs;
    endpoint.stats.cooldowns++;
    options.onEndpointEvent?.(`${endpoint.spec.url} taken out for ${waitMs} ms: ${error.message}`);
    slots.wakeAt(endpoint.coolUntil);
  };
  const attempt = async <T>(send: (model: LanguageModel) => Promise<T>): Promise<T> => {
    const endpoint = await slots.acquire();
    const started = performance.now();
    endpoint.stats.requests++;
    try {
      const result = await send(endpoint.model);
      endpoint.latency.add(performance.now() - started);
      if (endpoint.level > 0) options.onEndpointEvent?.(`${endpoint.spec.url} answers again`);
      endpoint.failuresInARow = 0;
      endpoint.level = 0;
      countTokens(endpoint, result);
      return result;
    } catch (error) {
      health(endpoint, error);
      throw error;
    } finally {
      slots.release(endpoint);
    }
  };
  const call = <T>(send: (model: LanguageModel) => Promise<T>, signal?: AbortSignal): Promise<T> =>
    withRetry(() => attempt(send), { policy: options.retry, signal, onRetry: options.onRetry });
  return {
    ...servedModel(options.endpoints[0]!.model),
    generate: (request) => call((model) => model.generate(request), request.signal),
    generateJson: (request) => call((model) => model.generateJson(request), request.signal),
    // One endpoint scores a whole list, so its client can pack the list into few requests.
    logprobs: (requests) => call((model) => model.logprobs(requests), requests[0]?.signal),
    close: async () => {
      slots.dispose();
      await Promise.all(endpoints.map((endpoint) => endpoint.model.close?.()));
    },
    endpointStats: () => endpoints.map(describe),
  };
}

function countTokens(endpoint: Endpoint, result: unknown): void {
  const usage = (result as Partial<GenerateResult> | undefined)?.usage;
  if (!usage) return;
  endpoint.stats.input += usage.inputTokens;
  endpoint.stats.output += usage.outputTokens;
}

function describe({ spec, stats, latency }: Endpoint): EndpointStats {
  return {
    url: spec.url,
    model: spec.model,
    weight: spec.weight,
    requests: stats.requests,
    errors: stats.errors,
    cooldowns: stats.cooldowns,
    latencyMs: { p50: latency.quantile(0.5), p95: latency.quantile(0.95) },
    tokens: { input: stats.input, output: stats.output },
  };
}

/** Connection refused or reset: the server is gone, so no point waiting for a run of failures. */
function isRefused(error: unknown): boolean {
  const codes = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "UND_ERR_SOCKET"]);
  for (let cause: unknown = error, depth = 0; cause && depth < 6; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && codes.has(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The in-flight bookkeeping: a request takes a slot on the endpoint with the lowest
 * (in flight + 1) / weight among those not cooling down and under their cap, or waits.
 */
class Slots {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly endpoints: Endpoint[],
    private readonly concurrency: number,
  ) {}

  async acquire(): Promise<Endpoint> {
    for (;;) {
      const endpoint = this.pick();
      if (endpoint) {
        endpoint.inFlight++;
        this.inFlight++;
        return endpoint;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  release(endpoint: Endpoint): void {
    endpoint.inFlight--;
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** Wakes every waiter when a cool-down ends, so the endpoint is tried again. */
  wakeAt(time: number): void {
    const soonest = Math.min(...this.endpoints.map((e) => (e.coolUntil > Date.now() ? e.coolUntil : Infinity)), time);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        for (const wake of this.waiting.splice(0)) wake();
        const next = this.endpoints.find((e) => e.coolUntil > Date.now());
        if (next) this.wakeAt(next.coolUntil);
      },
      Math.max(0, soonest - Date.now()),
    );
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private pick(): Endpoint | undefined {
    if (this.inFlight >= this.concurrency) return undefined;
    const now = Date.now();
    let best: Endpoint | undefined;
    let bestLoad = Infinity;
    for (const endpoint of this.endpoints) {
      if (endpoint.coolUntil > now || endpoint.inFlight >= endpoint.spec.maxConcurrency) continue;
      const load = (endpoint.inFlight + 1) / endpoint.spec.weight;
      if (load < bestLoad) {
        best = endpoint;
        bestLoad = load;
      }
    }
    return best;
  }
}
