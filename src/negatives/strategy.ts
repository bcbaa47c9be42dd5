import { readFile } from "node:fs/promises";
import { InputError, zodInputError } from "../errors.js";
import { hashKey } from "../io/index.js";
import { analysisDistributionSchema } from "./analysis-file.js";
import { findErrorType, type ErrorType } from "./error-types.js";

/**
 * Which error types a prompt gets. Every random choice is a pure function of (seed, source id),
 * so a resumed run makes the same choices as an uninterrupted one, whatever the order of work.
 */
export type Strategy =
  | { kind: "single"; type: ErrorType }
  | { kind: "all"; types: ErrorType[] }
  | { kind: "mixed"; types: ErrorType[] }
  | { kind: "most-common"; type: ErrorType }
  | { kind: "weighted"; weights: Array<{ type: ErrorType; weight: number }> };

export const strategyNames = ["single:<type>", "all", "mixed", "most-common", "weighted"] as const;

export async function parseStrategy(spec: string, types: ErrorType[], analysisFile?: string): Promise<Strategy> {
  if (spec.startsWith("single:")) return { kind: "single", type: findErrorType(types, spec.slice("single:".length)) };
  if (spec === "all" || spec === "mixed") return { kind: spec, types };
  if (spec === "most-common" || spec === "weighted") {
    if (!analysisFile) {
      throw new InputError(
        "--analysis",
        undefined,
        undefined,
        `--strategy ${spec} needs --analysis FILE`,
        "run `seapo analyze` first and pass its analysis.json",
      );
    }
    const distribution = await readDistribution(analysisFile, types);
    if (spec === "most-common") {
      const [name] = [...distribution].sort((a, b) => b[1] - a[1])[0]!;
      return { kind: "most-common", type: findErrorType(types, name, analysisFile) };
    }
    return {
      kind: "weighted",
      weights: distribution.map(([name, weight]) => ({ type: findErrorType(types, name, analysisFile), weight })),
    };
  }
  throw new InputError(
    "--strategy",
    undefined,
    undefined,
    `unknown strategy "${spec}"`,
    `use one of: ${strategyNames.join(", ")}`,
  );
}

/** Every type the strategy can inject, in its order. */
export function strategyTypes(strategy: Strategy): ErrorType[] {
  switch (strategy.kind) {
    case "single":
    case "most-common":
      return [strategy.type];
    case "all":
    case "mixed":
      return strategy.types;
    case "weighted":
      return strategy.weights.map((w) => w.type);
  }
}

/** The types to inject for one prompt. `mixed` injects all; export then keeps one per prompt. */
export function typesForRow(strategy: Strategy, sourceId: string, seed: number): ErrorType[] {
  if (strategy.kind !== "weighted") return strategyTypes(strategy);
  const total = strategy.weights.reduce((sum, w) => sum + w.weight, 0);
  let draw = seededUniform(seed, sourceId, "weighted") * total;
  for (const { type, weight } of strategy.weights) {
    draw -= weight;
    if (draw < 0) return [type];
  }
  return [strategy.weights.at(-1)!.type];
}

/** A uniform number in [0, 1) determined by the seed, the row and the purpose of the draw. */
export function seededUniform(seed: number, sourceId: string, purpose: string): number {
  return parseInt(hashKey([seed, sourceId, purpose]).slice(0, 12), 16) / 2 ** 48;
}

async function readDistribution(file: string, types: ErrorType[]): Promise<Array<[string, number]>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new InputError(file, undefined, undefined, `cannot read the analysis (${(error as Error).message})`);
  }
  const parsed = analysisDistributionSchema.safeParse(raw);
  if (!parsed.success)
    throw zodInputError(parsed.error, file, undefined, "expected the analysis.json that `seapo analyze` writes");
  const entries = Object.entries(parsed.data.distribution).filter(([, share]) => share > 0);
  if (entries.length === 0)
    throw new InputError(file, undefined, "distribution", "no error type has a share above zero");
  for (const [name] of entries) findErrorType(types, name, file);
  return entries;
}
