/**
 * Mathematical equivalence of two final answers, by a computer algebra system that reads LaTeX
 * (Cortex's Compute Engine): the counterpart of lm-evaluation-harness's sympy `is_equiv` for
 * minerva_math. Its agreement with the harness's sympy verdicts is measured in test/eval/cas.test.ts.
 */
import { ComputeEngine } from "@cortex-js/compute-engine";

let engine: ComputeEngine | undefined;

/** Spellings the engine does not read, in the forms it does (sympy's parse_latex reads all of them). */
const SPELLINGS: ReadonlyArray<readonly [string, string]> = [
  ["\\dfrac", "\\frac"],
  ["\\tfrac", "\\frac"],
];

/** Longer answers are not worth the time a CAS can spend on them; they count as not equivalent. */
const MAX_LENGTH = 400;

function prepare(latex: string): string {
  let out = latex;
  for (const [from, to] of SPELLINGS) out = out.replaceAll(from, to);
  return out;
}

/**
 * True when both answers parse and are equal as mathematical values: the engine's numeric equality,
 * or a difference that simplifies to 0. Like the harness's is_equiv, an answer that does not parse
 * is not equivalent to anything, itself included.
 */
export function casEquivalent(a: string, b: string): boolean {
  if (a.length > MAX_LENGTH || b.length > MAX_LENGTH) return false;
  const ce = (engine ??= new ComputeEngine());
  const x = ce.parse(prepare(a));
  const y = ce.parse(prepare(b));
  if (!x.isValid || !y.isValid) return false;
  try {
    if (x.isEqual(y) === true) return true;
    const difference = ce.box(["Subtract", x, y]).simplify();
    return difference.isValid && difference.is(0);
  } catch {
    // The engine throws on some operations between mismatched types (a tuple minus a number).
    return false;
  }
}
