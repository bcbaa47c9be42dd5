/** How a backend turns text into tokens, for splitContinuation. */
export interface SplitTokenizer<T> {
  /** Text as the model sees a document: with the start token (BOS) when the model adds one. */
  encode(text: string): T[];
  /** Text without any start token. */
  encodeBare(text: string): T[];
  /** The token to condition on after an empty context (throws when the model has none). */
  emptyContextStart(): T;
}

/**
 * Context and continuation tokens as lm-evaluation-harness makes them: the context's trailing
 * whitespace moves to the continuation, the whole text is encoded and split at the context's own
 * token count (so a token spanning the boundary goes to the continuation), and an empty context
 * becomes a single start token.
 */
export function splitContinuation<T>(
  context: string,
  continuation: string,
  tokenizer: SplitTokenizer<T>,
): { contextTokens: T[]; continuationTokens: T[] } {
  const trailing = context.length - context.trimEnd().length;
  const head = context.slice(0, context.length - trailing);
  const tail = context.slice(context.length - trailing) + continuation;
  if (head === "") {
    return { contextTokens: [tokenizer.emptyContextStart()], continuationTokens: tokenizer.encodeBare(tail) };
  }
  const contextTokens = tokenizer.encode(head);
  return { contextTokens, continuationTokens: tokenizer.encode(head + tail).slice(contextTokens.length) };
}
