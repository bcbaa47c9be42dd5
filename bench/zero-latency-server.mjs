// A zero-latency OpenAI-compatible chat server for the injection benchmark: it answers every
// request at once with the original answer with one number changed, as an injector would.
// Legacy completions with echo (bench/eval) get the prompt back as word tokens with log-probs,
// for one prompt or a batch (`prompt: [...]`).
import { createServer } from "node:http";

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

const port = Number(process.argv[2] ?? 0);
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (req.url === "/v1/completions") {
      const reply = JSON.stringify(completion(body));
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(reply) });
      res.end(reply);
      return;
    }
    const text = body.messages?.at(-1)?.content ?? "";
    const answer = /### Original answer\n([\s\S]*?)\n\n### Rewritten answer/.exec(text)?.[1] ?? "answer 1";
    const rewritten = answer.replace(/\d+/, (d) => String(Number(d) + 7));
    const reply = JSON.stringify({
      id: "bench",
      object: "chat.completion",
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: rewritten }, finish_reason: "stop" }],
      usage: { prompt_tokens: 200, completion_tokens: 60, total_tokens: 260 },
    });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(reply) });
    res.end(reply);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});
