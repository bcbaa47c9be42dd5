import { ProviderError } from "../errors.js";

/** Every retry rule lives here: what is retried, how long to wait, and the caps. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Give up once this much time has passed since the first attempt. */
  maxTotalMs: number;
  /** A server's Retry-After is honoured up to this bound. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 6,
  minDelayMs: 250,
  maxDelayMs: 20_000,
  maxTotalMs: 10 * 60_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryEvent {
  attempt: number;
  error: Error;
  waitMs: number;
}

/**
 * Runs `call` with exponential backoff and jitter. Only errors marked retryable are retried
 * (429, 5xx, timeouts, reset connections); a programmer error or a 4xx fails at once. The wait
 * before retry n is min(maxDelayMs, minDelayMs · 2^(n−1) · (1 + a random fraction)), and at least
 * what a Retry-After header asked for (up to maxRetryAfterMs). A plain loop: the first attempt
 * costs one call, which matters at thousands of requests a second.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: { policy?: Partial<RetryPolicy>; signal?: AbortSignal; onRetry?: (event: RetryEvent) => void } = {},
): Promise<T> {
  const policy = options.policy ? { ...defaultRetryPolicy, ...options.policy } : defaultRetryPolicy;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ProviderError && error.isRetryable) || attempt > policy.retries) throw error;
      const timeLeft = policy.maxTotalMs - (performance.now() - started);
      if (timeLeft <= 0) throw error;
      const retryAfter = error.options.retryAfterMs;
      const waitMs = retryAfter === undefined ? 0 : Math.min(retryAfter, policy.maxRetryAfterMs);
      options.onRetry?.({ attempt, error, waitMs });
      const backoff = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1) * (1 + Math.random()));
      await sleep(Math.min(timeLeft, Math.max(waitMs, backoff)), options.signal);
    }
  }
}

/** Retry-After is either seconds or an HTTP date; retry-after-ms is OpenAI's millisecond variant. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
