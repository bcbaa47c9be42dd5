import { Agent, request } from "undici";

/**
 * A `fetch` for the openai client built on undici.request. The WHATWG fetch layer (Node's global
 * one or undici's) costs more per request than the rest of the client together: against a fast
 * local server this roughly doubles the client's ceiling (bench/inject.mjs). Replies are read
 * whole, which suits the non-streaming JSON calls seapo makes.
 */
export function pooledFetch(connections: number): { fetch: typeof fetch; close: () => Promise<void> } {
  const agent = new Agent({ connections, keepAliveTimeout: 30_000 });
  const pooled = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const reply = await request(String(input), {
      method: (init.method ?? "GET") as "GET",
      headers,
      body: init.body as string | Buffer | undefined,
      signal: init.signal ?? undefined,
      dispatcher: agent,
    });
    const body = Buffer.from(await reply.body.arrayBuffer());
    const replyHeaders = new Headers();
    for (const [key, value] of Object.entries(reply.headers)) {
      if (value !== undefined) replyHeaders.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const empty = reply.statusCode === 204 || reply.statusCode === 304;
    return new Response(empty ? null : body, { status: reply.statusCode, headers: replyHeaders });
  };
  return { fetch: pooled as typeof fetch, close: () => agent.close() };
}
