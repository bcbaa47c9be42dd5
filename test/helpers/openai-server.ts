import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real HTTP server on 127.0.0.1 for tests. The caller scripts every reply: OpenAI-shaped JSON,
 * or a fault (status with headers such as Retry-After, a delay, a dropped connection).
 */
export interface ServerRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed JSON as sent by the client
  /** The body exactly as it came over the wire. */
  text: string;
  /** 1-based count of requests this server has seen so far, this one included. */
  count: number;
}

export interface ServerReply {
  status?: number;
  json?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Drop the connection without replying. */
  destroy?: boolean;
}

export interface TestServer {
  url: string;
  /** The base URL to give an OpenAI client, ending in /v1. */
  baseURL: string;
  /** Every request but GET /v1/models, which the server answers itself. */
  requests: ServerRequest[];
  /** How often GET /v1/models was asked. */
  modelListings: number;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** What GET /v1/models lists; without it that route answers 404, as some servers do. */
  models?: string[];
}

export type Handler = (request: ServerRequest) => ServerReply | Promise<ServerReply>;

export async function startTestServer(handler: Handler, options: TestServerOptions = {}): Promise<TestServer> {
  const requests: ServerRequest[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if (req.method === "GET" && req.url?.split("?")[0] === "/v1/models") {
      result.modelListings++;
      const data = options.models?.map((id) => ({ id, object: "model", created: 0, owned_by: "test" }));
      res.writeHead(data ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(data ? { object: "list", data } : { error: { message: "no such route" } }));
      return;
    }
    const request: ServerRequest = {
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0] ?? "/",
      headers: req.headers,
      body: text ? JSON.parse(text) : undefined,
      text,
      count: requests.length + 1,
    };
    requests.push(request);
    let reply: ServerReply;
    try {
      reply = await handler(request);
    } catch (error) {
      reply = { status: 500, json: { error: { message: String(error) } } };
    }
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (reply.destroy) {
      req.socket.destroy();
      return;
    }
    const body = JSON.stringify(reply.json ?? {});
    res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
    res.end(body);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const result: TestServer = {
    url,
    baseURL: `${url}/v1`,
    requests,
    modelListings: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return result;
}

/** A chat-completion response body in the OpenAI shape. */
export function chatCompletion(
  content: string,
  options: { finishReason?: string; model?: string; promptTokens?: number; completionTokens?: number } = {},
) {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 0,
    model: options.model ?? "test-model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content },
        finish_reason: options.finishReason ?? "stop",
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: options.promptTokens ?? 10,
      completion_tokens: options.completionTokens ?? content.split(/\s+/).length,
      total_tokens: (options.promptTokens ?? 10) + (options.completionTokens ?? content.split(/\s+/).length),
    },
  };
}
