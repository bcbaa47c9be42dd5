// A local OpenAI-compatible chat server for the injection benchmarks: it answers with the
// original answer with one number changed, as an injector would. By default at once; with a
// latency and a cap (`node zero-latency-server.mjs PORT LATENCY_MS MAX_IN_FLIGHT`) it behaves
// like a GPU server with a fixed batch: each reply takes LATENCY_MS, at most MAX_IN_FLIGHT are
// worked on at once and the rest wait, so one server holds MAX_IN_FLIGHT / LATENCY_MS replies/s.
// Legacy completions with echo (bench/eval) get the prompt back as word tokens with log-probs,
// for one prompt or a batch (`prompt: [...]`).
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 0);
const latencyMs = Number(process.argv[3] ?? 0);
const maxInFlight = Number(process.argv[4] ?? Infinity);
let inFlight = 0;
const waiting = [];

function echoChoice(prompt, index) {
  const words = [...prompt.matchAll(/\s*\S+/g)];
  return {
    index,
    text: `${prompt}.`,
    finish_reason: "length",
    logprobs: {
      tokens: [...words.map((w) => w[0]), "."],
      token_logprobs: [null, ...words.slice(1).map((w) => -w[0].length / 8), -0.1],
      text_offset: [...words.map((w) => w.index), prompt.length],
      top_logprobs: [null, ...words.slice(1).map((w) => ({ [w[0]]: -w[0].length / 8 })), { ".": -0.1 }],
    },
  };
}

function completion(body) {
  const prompts = typeof body.prompt === "string" ? [body.prompt] : body.prompt;
  const choices = prompts.map((prompt, i) =>
    body.echo ? echoChoice(prompt, i) : { index: i, text: " 7", finish_reason: "stop" },
  );
  return { id: "bench", object: "text_completion", created: 0, model: body.model, choices };
}

function send(res, value) {
  const json = JSON.stringify(value);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

function reply(body, res) {
  if (body.prompt !== undefined) return send(res, completion(body));
  const text = body.messages?.at(-1)?.content ?? "";
  const answer = /### Original answer\n([\s\S]*?)\n\n### Rewritten answer/.exec(text)?.[1] ?? "answer 1";
  const rewritten = answer.replace(/\d+/, (d) => String(Number(d) + 7));
  send(res, {
    id: "bench",
    object: "chat.completion",
    created: 0,
    model: body.model,
    choices: [{ index: 0, message: { role: "assistant", content: rewritten }, finish_reason: "stop" }],
    usage: { prompt_tokens: 200, completion_tokens: 60, total_tokens: 260 },
  });
}

function start(job) {
  inFlight++;
  setTimeout(() => {
    reply(job.body, job.res);
    inFlight--;
    const next = waiting.shift();
    if (next) start(next);
  }, latencyMs);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [{ id: "bench", object: "model" }] }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (latencyMs === 0) return reply(body, res);
    const job = { body, res };
    if (inFlight < maxInFlight) start(job);
    else waiting.push(job);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});
