import { InputError } from "../../errors.js";
import type { EvalResponse, GenerationRequest, LoglikelihoodRequest } from "../types.js";

/**
 * The harness's prompt assembly: description, then each exemplar as text + target delimiter +
 * target, separated and followed by the few-shot delimiter, then the example's own text.
 */
export function fewshotContext(parts: {
  description?: string;
  exemplars: ReadonlyArray<{ text: string; target: string }>;
  text: string;
  targetDelimiter?: string;
  fewshotDelimiter?: string;
}): string {
  const targetDelimiter = parts.targetDelimiter ?? " ";
  const fewshotDelimiter = parts.fewshotDelimiter ?? "\n\n";
  const shots = parts.exemplars.map((e) => e.text + targetDelimiter + e.target).join(fewshotDelimiter);
  return (parts.description ?? "") + (parts.exemplars.length > 0 ? shots + fewshotDelimiter : "") + parts.text;
}

/** One log-likelihood request per choice; the continuation starts with the target delimiter (a space). */
export function choiceRequests(context: string, choices: readonly string[]): LoglikelihoodRequest[] {
  return choices.map((choice) => ({ kind: "loglikelihood", context, continuation: ` ${choice}` }));
}

export function logliks(responses: readonly EvalResponse[]): number[] {
  return responses.map((r) => {
    if (r.kind !== "loglikelihood") throw new Error("expected log-likelihood responses");
    return r.logprob;
  });
}

export function generations(responses: readonly EvalResponse[]): string[] {
  return responses.map((r) => {
    if (r.kind !== "generate") throw new Error("expected generation responses");
    return r.text;
  });
}

export function takeLimit<T>(rows: readonly T[], limit: number | undefined): T[] {
  return limit === undefined ? [...rows] : rows.slice(0, limit);
}

/** The number of exemplars to use: the override when given, checked against what the task can supply. */
export function fewshotCount(
  task: string,
  requested: number | undefined,
  defaultCount: number,
  available: number,
  source: string,
): number {
  const n = requested ?? defaultCount;
  if (n > available) {
    throw new InputError(
      "--num-fewshot",
      undefined,
      undefined,
      `${task} can use at most ${available} exemplar${available === 1 ? "" : "s"} (${source}), asked for ${n}`,
      `give --num-fewshot ${available} or less, or run ${task} separately`,
    );
  }
  return n;
}

/** A greedy generation request with the task's stop sequences. */
export function greedyRequest(prompt: string, stop: string[], maxTokens: number): GenerationRequest {
  return { kind: "generate", prompt, stop, maxTokens, temperature: 0 };
}
