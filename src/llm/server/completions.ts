import { randomInt } from "node:crypto";
import type { EngineGeneration, EngineHandle } from "../engine.js";
import type { TokenScore } from "../engine-token-scores.js";
import type { GenerateRequest } from "../provider.js";
import { DEFAULTS, type CompletionRequest } from "./schemas.js";
import { tokenTexts, type TokenText } from "./token-text.js";

/**
 * Legacy completions over the engine: each prompt is continued (unless max_tokens is 0) and, with
 * `logprobs`, every reported token carries its log-prob and alternatives in OpenAI's legacy shape.
 * With `echo` the prompt's own tokens come first (the first one null), which is what log-likelihood
 * scoring reads (lm-evaluation-harness's local-completions, seapo's openai-logprobs.ts).
 * `text_offset` indexes the choice's `text`.
 */

interface Prompt {
  /** The text echoed back. */
  text: string;
  ids: number[];
  /** Positions of ids the tokenizer added that are not in `text` (BOS). */
  added: Set<number>;
  /** Token prompts are continued from exactly these ids; text prompts are encoded by the engine. */
  givenIds: boolean;
}

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: LegacyLogprobs | null;
  finish_reason: "stop" | "length";
}

interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null>;
  text_offset: number[];
}

export async function completions(engine: EngineHandle, body: CompletionRequest, onWarning: (m: string) => void) {
  const prompts = readPrompts(engine, body.prompt);
  const maxTokens = body.max_tokens ?? DEFAULTS.completionMaxTokens;
  const generations: Array<EngineGeneration | undefined> = [];
  for (const prompt of prompts) {
    if (maxTokens === 0) generations.push(undefined);
    else {
      const generation = await engine.generateIds(
        { ...samplingOf(body, maxTokens), prompt: prompt.text },
        prompt.givenIds ? prompt.ids : undefined,
      );
      generation.warnings.forEach(onWarning);
      generations.push(generation);
    }
  }
  const top = body.logprobs ?? undefined;
  const sequences = prompts.map((p, i) => [...p.ids, ...(generations[i]?.tokenIds ?? [])]);
  const scores = top === undefined ? undefined : await scoreSequences(engine, prompts, sequences, top);
  const choices = prompts.map((prompt, index): CompletionChoice => {
    const generation = generations[index];
    const text = generation?.text ?? "";
    return {
      index,
      text: body.echo ? prompt.text + text : text,
      logprobs: scores
        ? legacyLogprobs(engine, prompt, sequences[index]!, scores[index]!, body.echo ?? false, text)
        : null,
      finish_reason: generation?.finishReason.unified === "stop" ? "stop" : "length",
    };
  });
  const promptTokens = prompts.reduce((n, p) => n + p.ids.length, 0);
  const completionTokens = generations.reduce((n, g) => n + (g?.tokenIds.length ?? 0), 0);
  return {
    object: "text_completion" as const,
    choices,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/**
 * Every token's score. A prompt is scored on its own, so its log-probs do not depend on max_tokens:
 * where the generated tokens push the sequence past the context, the window that scores them would
 * drop one more prompt token (as the engine provider's log-likelihood requests never do).
 */
async function scoreSequences(
  engine: EngineHandle,
  prompts: Prompt[],
  sequences: number[][],
  top: number,
): Promise<TokenScore[][]> {
  const fits = (s: number[]) => s.length <= engine.contextLength + 1;
  const alone = prompts.map((p, i) => (fits(sequences[i]!) ? undefined : p.ids));
  const extra = alone.filter((ids): ids is number[] => ids !== undefined);
  const scored = await engine.scoreTokens([...sequences, ...extra], top);
  let next = sequences.length;
  return sequences.map((_, i) => {
    if (alone[i] === undefined) return scored[i]!;
    const promptScores = scored[next++]!;
    return [...promptScores, ...scored[i]!.slice(promptScores.length)];
  });
}

/** Sampling settings with OpenAI's defaults; without a seed each request draws one, as servers do. */
export function samplingOf(
  body: Pick<CompletionRequest, "temperature" | "top_p" | "top_k" | "seed" | "stop">,
  maxTokens: number,
): GenerateRequest {
  const topK = body.top_k ?? 0;
  return {
    maxTokens,
    temperature: body.temperature ?? DEFAULTS.temperature,
    topP: body.top_p ?? DEFAULTS.topP,
    ...(topK > 0 && { topK }),
    seed: body.seed ?? randomInt(2 ** 31),
    stop: typeof body.stop === "string" ? [body.stop] : (body.stop ?? []),
  };
}

function readPrompts({ tokenizer }: EngineHandle, prompt: CompletionRequest["prompt"]): Prompt[] {
  const list: Array<string | number[]> =
    typeof prompt === "string" ? [prompt] : typeof prompt[0] === "number" ? [prompt as number[]] : (prompt as string[]);
  return list.map((item) => {
    if (typeof item !== "string") return { text: tokenizer.decode(item), ids: item, added: new Set(), givenIds: true };
    // As the engine encodes a raw prompt: with the tokens the tokenizer adds (BOS), which the text lacks.
    const ids = tokenizer.encode(item, { addSpecialTokens: true });
    const prefix = tokenizer.prefixIds.length;
    const suffix = tokenizer.suffixIds.length;
    const added = new Set([
      ...Array.from({ length: prefix }, (_, k) => k),
      ...Array.from({ length: suffix }, (_, k) => ids.length - 1 - k),
    ]);
    return { text: item, ids, added, givenIds: false };
  });
}

/** The reported tokens: the prompt's and the generated ones with echo, else the generated ones; none past the text's end (a stop string). */
function legacyLogprobs(
  { tokenizer }: EngineHandle,
  prompt: Prompt,
  sequence: number[],
  scores: TokenScore[],
  echo: boolean,
  generated: string,
): LegacyLogprobs {
  const texts = tokenTexts(
    (ids) => tokenizer.decode(ids),
    sequence,
    prompt.added,
    (id) => tokenizer.idToToken(id) ?? "",
  );
  const start = texts.slice(0, prompt.ids.length).reduce((n, t) => n + t.width, 0);
  const kept = texts.filter((t, i) => i < prompt.ids.length || t.offset < start + generated.length);
  const from = echo ? 0 : prompt.ids.length;
  const shift = echo ? 0 : start;
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (let i = from; i < kept.length; i++) {
    const score = scores[i]!;
    out.tokens.push(kept[i]!.piece);
    out.token_logprobs.push(score.logprob);
    out.top_logprobs.push(score.logprob === null ? null : alternatives(kept[i]!, score));
    out.text_offset.push(kept[i]!.offset - shift);
  }
  return out;
}

/** The alternatives' pieces, best first; a piece shared by two ids keeps the better. */
export function topPieces(text: TokenText, score: TokenScore): Array<{ token: string; logprob: number }> {
  const seen = new Set<string>();
  const out: Array<{ token: string; logprob: number }> = [];
  for (const alt of score.top) {
    const token = text.alternative(alt.id);
    if (seen.has(token)) continue;
    seen.add(token);
    out.push({ token, logprob: alt.logprob });
  }
  return out;
}

/** Legacy `top_logprobs`: the alternatives, then the token itself if it is not among them (vLLM's rule). */
function alternatives(text: TokenText, score: TokenScore): Record<string, number> {
  const dict = Object.fromEntries(topPieces(text, score).map((t) => [t.token, t.logprob]));
  if (!(text.piece in dict)) dict[text.piece] = score.logprob!;
  return dict;
}
