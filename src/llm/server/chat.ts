import type { EngineHandle } from "../engine.js";
import type { TokenScore } from "../engine-token-scores.js";
import type { ChatMessage } from "../provider.js";
import { samplingOf, topPieces } from "./completions.js";
import type { ChatRequest } from "./schemas.js";
import { tokenTexts, type TokenText } from "./token-text.js";

/**
 * Chat completions over the engine: the messages go through the model's chat template (with the
 * assistant header), and with `logprobs: true` each generated token comes with its log-prob and
 * `top_logprobs` alternatives in the chat shape (`logprobs.content`).
 */
export async function chatCompletions(engine: EngineHandle, body: ChatRequest, onWarning: (m: string) => void) {
  const messages: ChatMessage[] = body.messages.map((m) => ({
    role: m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((part) => part.text).join(""),
  }));
  // Without a limit the reply may fill what the context leaves after the prompt.
  const promptLength = engine.tokenizer.encodeChat(messages, { addGenerationPrompt: true }).length;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? Math.max(1, engine.contextLength - promptLength);
  const generation = await engine.generateIds({ ...samplingOf(body, maxTokens), messages });
  generation.warnings.forEach(onWarning);
  let logprobs: { content: ChatTokenLogprob[] } | null = null;
  if (body.logprobs) {
    const sequence = [...generation.promptIds, ...generation.tokenIds];
    const [scores] = await engine.scoreTokens([sequence], body.top_logprobs ?? 0);
    logprobs = { content: chatLogprobs(engine, sequence, generation.promptIds.length, scores!, generation.text) };
  }
  const { inputTokens, outputTokens } = generation.usage;
  return {
    object: "chat.completion" as const,
    choices: [
      {
        index: 0,
        message: { role: "assistant" as const, content: generation.text },
        logprobs,
        finish_reason: generation.finishReason.unified === "stop" ? ("stop" as const) : ("length" as const),
      },
    ],
    usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
  };
}

interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/** The generated tokens (none past the text's end, where a stop string cut it), alternatives best first. */
function chatLogprobs(
  { tokenizer }: EngineHandle,
  sequence: number[],
  promptLength: number,
  scores: TokenScore[],
  text: string,
): ChatTokenLogprob[] {
  const texts = tokenTexts((ids) => tokenizer.decode(ids), sequence);
  const start = texts[promptLength]?.offset ?? 0;
  const out: ChatTokenLogprob[] = [];
  for (let i = promptLength; i < sequence.length && texts[i]!.offset < start + text.length; i++) {
    out.push(entry(texts[i]!, scores[i]!));
  }
  return out;
}

function entry(text: TokenText, score: TokenScore): ChatTokenLogprob {
  const top = topPieces(text, score).map((t) => ({ ...t, bytes: bytes(t.token) }));
  return { token: text.piece, logprob: score.logprob!, bytes: bytes(text.piece), top_logprobs: top };
}

function bytes(piece: string): number[] {
  return [...Buffer.from(piece, "utf8")];
}
