import { Pool } from "undici";
import { ProviderError } from "../errors.js";
import { isRetryableStatus, parseRetryAfter } from "./retry.js";

/**
 * JSON POSTs to one OpenAI-compatible server, straight on an undici connection pool. The openai
 * package with a fetch under it spent more CPU per request than the rest of the pipeline together
 * (about 0.5 ms against 0.1 ms for undici.request, bench/inject-scale.mjs), and at a few thousand
 * requests a second that CPU, not the servers, set the pace. Replies are read whole, which suits
 * the non-streaming calls seapo makes.
 */
export interface JsonClient {
  /** POSTs `body` to `path` under the base URL; resolves the parsed reply or throws a ProviderError. */
  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

export interface JsonClientOptions {
  /** Base URL ending in /v1 (paths are appended to it). */
  baseURL: string;
  /** Sent as a bearer token; never part of an error message. */
  apiKey?: string;
  connections: number;
  /** The longest wait for a reply, and between two chunks of one. */
  timeoutMs: number;
}

export function createJsonClient(options: JsonClientOptions): JsonClient {
  const url = new URL(options.baseURL);
  const prefix = url.pathname.replace(/\/+$/, "");
  const pool = new Pool(url.origin, { connections: options.connections, keepAliveTimeout: 30_000 });
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const post = async <T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> => {
    let reply: Awaited<ReturnType<Pool["request"]>>;
    let text: string;
    try {
      reply = await pool.request({
        method: "POST",
        path: prefix + path,
        headers,
        body: JSON.stringify(body),
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      text = await reply.body.text();
    } catch (error) {
      throw transportError(error, options.timeoutMs, signal);
    }
    if (reply.statusCode >= 300) throw statusError(reply.statusCode, reply.headers, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ProviderError(`HTTP ${reply.statusCode}: the reply is not JSON: ${text.slice(0, 200)}`, {
        status: reply.statusCode,
        isRetryable: false,
      });
    }
  };
  return { post, close: () => pool.close() };
}

type ReplyHeaders = Record<string, string | string[] | undefined>;

/**
 * A refused or failed request. The message has the form the openai package gave it
 * ("HTTP 400: 400 <the server's error.message>"), which users and tests already know.
 */
function statusError(status: number, headers: ReplyHeaders, text: string): ProviderError {
  let detail: string | undefined = text || undefined;
  try {
    const parsed = JSON.parse(text) as { error?: unknown } | null;
    const error = parsed?.error as { message?: unknown } | undefined;
    detail = error?.message
      ? typeof error.message === "string"
        ? error.message
        : JSON.stringify(error.message)
      : error
        ? JSON.stringify(error)
        : undefined;
  } catch {
    // not JSON: the text itself is the detail
  }
  const message = detail ? `${status} ${detail}` : `${status} status code (no body)`;
  return new ProviderError(`HTTP ${status}: ${message}`, {
    status,
    isRetryable: isRetryableStatus(status),
    retryAfterMs: parseRetryAfter({ get: (name) => headerValue(headers[name]) }),
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/** Connection refused, reset or timed out: retryable. The caller's own abort passes through as it is. */
function transportError(error: unknown, timeoutMs: number, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason ?? error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && TIMEOUT_CODES.has(code)) {
    return new ProviderError(`connection failed: no reply within ${timeoutMs} ms (${code})`, {
      isRetryable: true,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError(`connection failed: ${message}`, { isRetryable: true, cause: error });
}
