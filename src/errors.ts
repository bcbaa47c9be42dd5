/**
 * Error classes with stable names. The CLI prints the message of a SeapoError and exits 1;
 * anything else is a bug and gets its stack printed.
 */
export class SeapoError extends Error {
  override name = "SeapoError";
}

/** Bad input: names the file, line and field, and says how to fix it. */
export class InputError extends SeapoError {
  override name = "InputError";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    readonly problem: string,
    readonly hint?: string,
  ) {
    const where = [file, line, field].filter((part) => part !== undefined && part !== "").join(":");
    super(`${where}: ${problem}${hint ? `\n  hint: ${hint}` : ""}`);
  }
}

/** A failed call to a model provider. `isRetryable` comes from the status code or the network error. */
export class ProviderError extends SeapoError {
  override name = "ProviderError";
  constructor(
    message: string,
    readonly options: { status?: number; isRetryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
  }
  get isRetryable(): boolean {
    return this.options.isRetryable;
  }
}

/** The provider cannot do what was asked (e.g. log-probs from a chat-only endpoint). Never retried. */
export class UnsupportedError extends SeapoError {
  override name = "UnsupportedError";
}

/** The part of a zod error that zodInputError reads (structural, so this bottom module needs no zod). */
export interface SchemaIssues {
  issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>;
}

/** The first problem a schema found in a file's value, as an InputError naming the field's path. */
export function zodInputError(error: SchemaIssues, file: string, line: number | undefined, hint?: string): InputError {
  const issue = error.issues[0]!;
  return new InputError(file, line, issue.path.map(String).join(".") || undefined, issue.message, hint);
}
