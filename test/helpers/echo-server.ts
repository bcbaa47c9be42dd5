import type { Handler } from "./openai-server.js";

/**
 * A legacy-completions handler for startTestServer that scores whatever it is sent, one prompt or
 * a batch (`prompt: [...]`), as vLLM does with echo: each prompt comes back split into words
 * ("\s*\S+"), each word with a log-prob from its text and position, a different top token for
 * every third word, and one generated token. The choices come back in reverse order, so a client
 * must match them by index. Without echo it answers " 7".
 */
export const echoCompletions: Handler = ({ path, body }) => {
  if (path !== "/v1/completions") return { status: 404, json: { error: { message: `no route ${path}` } } };
  const prompts: string[] = typeof body.prompt === "string" ? [body.prompt] : body.prompt;
  const choices = prompts.map((prompt, index) => ({
    index,
    text: body.echo ? `${prompt}<gen>` : " 7",
    finish_reason: "length",
    logprobs: body.echo ? scoreText(prompt) : null,
  }));
  const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
  return { json: { id: "c", object: "text_completion", created: 0, model: "m", choices: choices.reverse(), usage } };
};

function wordLogprob(word: string, i: number): number {
  return -([...word].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_003, i) % 997) / 100;
}

function scoreText(text: string) {
  const words = [...text.matchAll(/\s*\S+/g)];
  const rest = words.slice(1);
  return {
    tokens: [...words.map((w) => w[0]), "<gen>"],
    token_logprobs: [null, ...rest.map((w, i) => wordLogprob(w[0], i + 1)), -0.1],
    text_offset: [...words.map((w) => w.index), text.length],
    top_logprobs: [
      null,
      ...rest.map((w, i) => ({ [(i + 1) % 3 === 0 ? " other" : w[0]]: wordLogprob(w[0], i + 1) })),
      { "<gen>": -0.1 },
    ],
  };
}
