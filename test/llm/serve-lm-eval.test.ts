/**
 * lm-evaluation-harness reading `seapo serve`: the harness's local-completions model sends each
 * log-likelihood request as token ids with echo, max_tokens 1 and logprobs 1, and reads the reply with
 * its own parse_logprobs. test/llm/fixtures/lm-eval-parse-logprobs.json holds what that function (run
 * from the harness's source by test/llm/generators/lm_eval_parse_logprobs.py) made of replies recorded
 * from this server on stories260K. Here the live server must still give those replies, and the
 * harness's reading of them must equal the engine's own scores.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LlamaModel, generate, loadHfModel, scoreContinuations } from "../../src/engine/index.js";
import { STORIES_HF } from "../engine/real/stories260k.js";
import { postJson, startServe, type ServeProcess } from "../helpers/seapo-serve.js";

const fixtures = new URL("./fixtures/", import.meta.url);
const REPLIES = new URL("serve-echo-replies.json", fixtures);
const PARSED = new URL("lm-eval-parse-logprobs.json", fixtures);
const CONTEXTS: Array<[string, string]> = [
  ["Once upon a time, there was a little girl named Lily.", " She loved to play outside."],
  ["The dog ran to the park", " and saw a big red ball."],
  ["Tom and Sue were friends.", ""], // the continuation: the model's own greedy tokens (is_greedy true)
];

interface Case {
  ctxlen: number;
  ids: number[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the reply as the server sent it
  reply: any;
}

let serve: ServeProcess;
let model: LlamaModel;
let cases: Array<Omit<Case, "reply">>;
beforeAll(async () => {
  const { config, weights, tokenizer } = await loadHfModel(STORIES_HF);
  model = LlamaModel.fromWeights(config, weights);
  cases = CONTEXTS.map(([context, continuation]) => {
    const contextIds = tokenizer.encode(context);
    const continuationIds = continuation
      ? tokenizer.encode(continuation, { addSpecialTokens: false })
      : generate(model, [contextIds], { maxNewTokens: 4, temperature: 0, stopTokenIds: [] })[0]!.tokens;
    return { ctxlen: contextIds.length, ids: [...contextIds, ...continuationIds] };
  });
  serve = await startServe(["--hf", STORIES_HF, "--served-model-name", "stories"]);
}, 60_000);
afterAll(async () => {
  await serve?.stop();
});

/** The harness's loglikelihood payload (openai_completions.py _create_payload, generate=False). */
async function ask(ids: number[]) {
  const payload = {
    model: "stories",
    prompt: [ids],
    temperature: 0,
    max_tokens: 1,
    logprobs: 1,
    seed: 1234,
    echo: true,
  };
  const { status, json } = await postJson(`${serve.baseURL}/completions`, payload);
  expect(status).toBe(200);
  return json;
}

it("gives the replies lm-eval's parse_logprobs was run on, and its reading equals the engine's scores", async () => {
  const live: Case[] = [];
  for (const c of cases) live.push({ ...c, reply: await ask(c.ids) });
  if (process.env.SEAPO_RECORD_SERVE_REPLIES === "1")
    writeFileSync(REPLIES, JSON.stringify({ model: "stories260K", cases: live }, null, 1) + "\n");

  const recorded = JSON.parse(readFileSync(REPLIES, "utf8")) as { cases: Case[] };
  const parsed = JSON.parse(readFileSync(PARSED, "utf8")) as { results: Array<{ logprob: number; isGreedy: boolean }> };
  expect(live.map((c) => c.ids)).toEqual(recorded.cases.map((c) => c.ids));
  live.forEach((c, i) => {
    const want = recorded.cases[i]!.reply.choices[0].logprobs;
    const got = c.reply.choices[0].logprobs;
    expect(got.tokens).toEqual(want.tokens);
    // One generated token past the prompt: lm-eval's [ctxlen:-1] drops exactly it.
    expect(got.token_logprobs).toHaveLength(c.ids.length + 1);
    got.token_logprobs.forEach((lp: number | null, t: number) =>
      lp === null ? expect(want.token_logprobs[t]).toBeNull() : expect(lp).toBeCloseTo(want.token_logprobs[t], 5),
    );
  });

  const engine = scoreContinuations(
    model,
    cases.map((c) => ({ contextIds: c.ids.slice(0, c.ctxlen), continuationIds: c.ids.slice(c.ctxlen) })),
  );
  expect(parsed.results).toHaveLength(engine.length);
  engine.forEach((score, i) => {
    expect(parsed.results[i]!.logprob).toBeCloseTo(score.logprob, 4);
    expect(parsed.results[i]!.isGreedy).toBe(score.isGreedy);
  });
  expect(parsed.results.map((r) => r.isGreedy)).toEqual([false, false, true]);
}, 60_000);
