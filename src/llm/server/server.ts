import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { SeapoError } from "../../errors.js";
import type { EngineHandle } from "../engine.js";
import { chatCompletions } from "./chat.js";
import { completions } from "./completions.js";
import { chatRequestSchema, completionRequestSchema } from "./schemas.js";

/**
 * `seapo serve`: an OpenAI-compatible HTTP server over the engine provider (node:http, JSON only).
 * Requests are taken as they come; the engine computes one at a time. Errors come back in OpenAI's
 * shape, `{error: {message, type, param, code}}`, with 400 for a bad request, 404 for an unknown
 * route or model, 405 for a wrong method, 413 for a body over the limit and 500 for a failure here.
 */
export interface ServeOptions {
  engine: EngineHandle;
  /** The name GET /v1/models lists; requests naming another model get 404. */
  modelName: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Warnings about one request (a prompt cut to fit the context); default: none. */
  onWarning?: (message: string) => void;
  /** Each POST body as it arrived, before it is checked (a request log). */
  onRequest?: (path: string, body: unknown) => void;
}

export interface RunningServer {
  /** http://host:port */
  url: string;
  /** The URL to give an OpenAI client: url + "/v1". */
  baseURL: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  let served = 0;
  const server = createServer((req, res) => {
    served++;
    handle(options, req, served)
      .then((json) => reply(res, 200, json))
      .catch((error: unknown) => reply(res, ...errorReply(error)));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ROUTES: Record<string, { method: string; run: (o: ServeOptions, body: unknown) => Promise<object> }> = {
  "/v1/models": { method: "GET", run: async (o) => ({ object: "list", data: [modelCard(o.modelName)] }) },
  "/v1/completions": {
    method: "POST",
    run: (o, body) => completions(o.engine, checkModel(o, parse(completionRequestSchema, body)), warn(o)),
  },
  "/v1/chat/completions": {
    method: "POST",
    run: (o, body) => chatCompletions(o.engine, checkModel(o, parse(chatRequestSchema, body)), warn(o)),
  },
  "/health": { method: "GET", run: async () => ({ status: "ok" }) },
};

async function handle(options: ServeOptions, req: IncomingMessage, count: number): Promise<object> {
  const path = (req.url ?? "/").split("?")[0]!;
  const route = ROUTES[path];
  if (!route) {
    const model = /^\/v1\/models\/(.+)$/.exec(path);
    if (model && req.method === "GET") return modelById(options, decodeURIComponent(model[1]!));
    throw new HttpError(404, `no route ${req.method} ${path}`, "not_found");
  }
  if (req.method !== route.method)
    throw new HttpError(405, `${path} takes ${route.method}, not ${req.method}`, "method_not_allowed");
  const body = route.method === "POST" ? await readJson(req) : undefined;
  if (route.method === "POST") options.onRequest?.(path, body);
  const result = await route.run(options, body);
  if (route.method !== "POST") return result;
  const prefix = path === "/v1/completions" ? "cmpl" : "chatcmpl";
  return { id: `${prefix}-${count}`, created: Math.floor(Date.now() / 1000), model: options.modelName, ...result };
}

function modelCard(id: string) {
  return { id, object: "model", created: 0, owned_by: "seapo" };
}

function modelById(options: ServeOptions, id: string) {
  if (id !== options.modelName)
    throw new HttpError(
      404,
      `the model "${id}" does not exist; this server has "${options.modelName}"`,
      "model_not_found",
    );
  return modelCard(id);
}

function checkModel<T extends { model?: string | undefined }>(options: ServeOptions, body: T): T {
  if (body.model !== undefined && body.model !== options.modelName)
    throw new HttpError(
      404,
      `the model "${body.model}" does not exist; this server has "${options.modelName}"`,
      "model_not_found",
      "model",
    );
  return body;
}

function warn(options: ServeOptions): (message: string) => void {
  return options.onWarning ?? (() => undefined);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, `the request body is over ${MAX_BODY_BYTES} bytes`, "request_too_large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw new HttpError(400, `the request body is not JSON: ${(error as Error).message}`, "invalid_json");
  }
}

/** The body checked against its schema; the first problem names its field. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.join(".") || null;
  throw new HttpError(400, param ? `${param}: ${issue.message}` : issue.message, "invalid_request", param);
}

function errorReply(error: unknown): [number, object] {
  const body = (status: number, message: string, code: string, param: string | null = null) => ({
    error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", param, code },
  });
  if (error instanceof HttpError) return [error.status, body(error.status, error.message, error.code, error.param)];
  // The engine's own input and unsupported-setting errors are the caller's to fix.
  if (error instanceof SeapoError || error instanceof RangeError)
    return [400, body(400, error.message, "invalid_request")];
  return [500, body(500, `internal error: ${(error as Error).message ?? String(error)}`, "internal_error")];
}

function reply(res: ServerResponse, status: number, json: object): void {
  if (res.headersSent) return;
  const text = JSON.stringify(json);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
