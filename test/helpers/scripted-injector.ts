import { chatCompletion, type ServerReply, type ServerRequest } from "./openai-server.js";

/** Pulls the original answer and the error type out of seapo's injection prompt. */
export function parseInjectionPrompt(body: { messages?: Array<{ content: string }> }) {
  const text = body.messages?.at(-1)?.content ?? "";
  const answer = /### Original answer\n([\s\S]*?)\n\n### Rewritten answer/.exec(text)?.[1] ?? "";
  const type = /Error type: (\S+)/.exec(text)?.[1] ?? "";
  return { answer, type };
}

/**
 * A stand-in injector with the behaviour the pipeline must handle: it changes one number (or
 * one word) in the answer, so each rewrite is a real, minimal edit of the positive.
 */
export function rewriteOnce(answer: string, type: string): string {
  if (type === "hallucination") return `${answer} This was confirmed by the Zorblax Institute.`;
  const withNumber = answer.replace(/\d+/, (digits) => String(Number(digits) + 7));
  if (withNumber !== answer) return withNumber;
  return answer.replace(/\b(\w{4,})\b/, "nevertheless");
}

export function injectorReply(request: ServerRequest): ServerReply {
  const { answer, type } = parseInjectionPrompt(request.body);
  return { json: chatCompletion(rewriteOnce(answer, type)) };
}
