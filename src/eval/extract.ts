/**
 * Answer extraction and normalisation, following lm-evaluation-harness's filters and metrics.
 * Python's `.` does not match "\n" but does match "\r"; JavaScript's excludes both, so the
 * patterns below spell it `[^\n]`.
 */

/**
 * Python's str.isspace() set, which str.strip() removes: JavaScript's trim() also removes U+FEFF,
 * and keeps U+001C–U+001F and U+0085 (NEL), so a question ending in NEL would keep it.
 */
const PY_WHITESPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, "g");

/** Python's str.strip() with no argument. */
export function pythonStrip(text: string): string {
  return text.replace(PY_STRIP, "");
}

/** What the harness's regex filter returns when nothing matches. */
export const INVALID = "[invalid]";

/**
 * The harness's regex filter: all non-overlapping matches (Python's findall), pick one by index
 * (negative counts from the end), take the first non-empty group when the pattern has several,
 * then strip whitespace.
 */
export function regexFilter(text: string, pattern: RegExp, groupSelect = 0, fallback = INVALID): string {
  const global = pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
  const matches = [...text.matchAll(global)];
  if (matches.length === 0) return fallback;
  const match = matches.at(groupSelect);
  if (!match) return fallback;
  const groups = match.slice(1);
  let picked: string;
  if (groups.length === 0) picked = match[0];
  else if (groups.length === 1) picked = groups[0] ?? "";
  else {
    const nonEmpty = groups.find((g) => g !== undefined && g !== "");
    if (nonEmpty === undefined) return fallback;
    picked = nonEmpty;
  }
  return pythonStrip(picked);
}

/** Cut a generation at the earliest stop sequence, as the harness does with `until`. */
export function truncateAtStop(text: string, stops: readonly string[]): string {
  let end = text.length;
  for (const stop of stops) {
    if (!stop) continue;
    const at = text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}

// ---------------------------------------------------------------- GSM8K

/** gsm8k_cot strict-match: "The answer is N" followed by any one character (Python's unescaped `.`). */
export const GSM8K_COT_STRICT = /The answer is (-?[0-9.,]+)[^\n]/g;
/** gsm8k strict-match: the "#### N" line the training answers end with. */
export const GSM8K_STRICT = /#### (-?[0-9.,]+)/g;
/** flexible-extract: the last number-like run (at least two of digits, $ , .) or the last integer. */
export const GSM8K_FLEXIBLE = /(-?[$0-9.,]{2,})|(-?[0-9]+)/g;

/**
 * The harness's exact_match for GSM8K (ignore_case, regexes_to_ignore [",", "\$", "(?s).*#### ", "\.$"]),
 * applied to both sides in that order, then lower-cased.
 */
export function gsm8kNormalise(text: string): string {
  return text
    .replace(/,/g, "")
    .replace(/\$/g, "")
    .replace(/[\s\S]*#### /, "")
    .replace(/\.(?=\n?$)/, "")
    .toLowerCase();
}

export function gsm8kExactMatch(extracted: string, reference: string): number {
  return gsm8kNormalise(extracted) === gsm8kNormalise(reference) ? 1 : 0;
}

// ---------------------------------------------------------------- BBH

/** bbh_cot_fewshot get-answer: the rest of the line after "the answer is ", less its last character. */
export const BBH_ANSWER = /(?<=the answer is )([^\n]*)(?=[^\n])/g;

export function bbhExtract(generation: string): string {
  return regexFilter(generation, BBH_ANSWER, 0);
}

// ---------------------------------------------------------------- MATH: shared boxed helpers

/**
 * The last `\boxed{…}` (or `\fbox{…}`) with balanced braces, or the text after the last "\boxed "
 * up to the next "$". null when there is none or its braces never close.
 */
export function lastBoxedOnlyString(text: string): string | null {
  if (text.includes("\\boxed ")) {
    const tail = text.split("\\boxed ").at(-1) ?? "";
    return `\\boxed ${tail.split("$")[0]}`;
  }
  let idx = text.lastIndexOf("\\boxed");
  if (idx < 0) {
    idx = text.lastIndexOf("\\fbox");
    if (idx < 0) return null;
  }
  let open = 0;
  for (let i = idx; i < text.length; i++) {
    if (text[i] === "{") open++;
    if (text[i] === "}") {
      open--;
      if (open === 0) return text.slice(idx, i + 1);
    }
  }
  return null;
}

/** The content of a `\boxed{…}` or `\boxed …` string; null when it has neither shape (the harness asserts). */
export function removeBoxed(boxed: string): string | null {
  if (boxed.includes("\\boxed ")) return boxed.startsWith("\\boxed ") ? boxed.slice("\\boxed ".length) : null;
  if (boxed.startsWith("\\boxed{") && boxed.endsWith("}")) return boxed.slice("\\boxed{".length, -1);
  return null;
}

/** The boxed answer of a reference solution. */
export function boxedAnswer(solution: string): string | null {
  const boxed = lastBoxedOnlyString(solution);
  return boxed === null ? null : removeBoxed(boxed);
}

// ---------------------------------------------------------------- MATH: Minerva (minerva_math)

export const MINERVA_INVALID = "[invalidanswer]";

/** "Final Answer: The final answer is X. I hope it is correct." → X (the closing sentence may be cut off). */
export function minervaUnnormalisedAnswer(generation: string): string {
  const match = /Final Answer: The final answer is([^\n]*?)[^\n] I hope it is correct[^\n]/.exec(
    `${generation}I hope it is correct.`,
  );
  return match ? pythonStrip(match[1] ?? "") : MINERVA_INVALID;
}

/** Replacements applied in order by the Minerva normalisation (Lewkowycz et al. 2022, appendix D). */
const MINERVA_SUBSTITUTIONS: ReadonlyArray<readonly [string, string]> = [
  ["an ", ""],
  ["a ", ""],
  [".$", "$"],
  ["\\$", ""],
  ["\\ ", ""],
  [" ", ""],
  ["mbox", "text"],
  [",\\text{and}", ","],
  ["\\text{and}", ","],
  ["\\text{m}", "\\text{}"],
];

/** Units and filler words the Minerva normalisation deletes, in order. */
const MINERVA_REMOVED = [
  "square",
  "ways",
  "integers",
  "dollars",
  "mph",
  "inches",
  "ft",
  "hours",
  "km",
  "units",
  "\\ldots",
  "sue",
  "points",
  "feet",
  "minutes",
  "digits",
  "cents",
  "degrees",
  "cm",
  "gm",
  "pounds",
  "meters",
  "meals",
  "edges",
  "students",
  "childrentickets",
  "multiples",
  "\\text{s}",
  "\\text{.}",
  "\\text{\ns}",
  "\\text{}^2",
  "\\text{}^3",
  "\\text{\n}",
  "\\text{}",
  "\\mathrm{th}",
  "^\\circ",
  "^{\\circ}",
  "\\;",
  ",\\!",
  "{,}",
  '"',
  "\\dots",
];

/** The Minerva final-answer normalisation used by the harness's minerva_math tasks. */
export function minervaNormalise(answer: string): string {
  let s = answer.split("=").at(-1) ?? "";
  for (const [from, to] of MINERVA_SUBSTITUTIONS) s = s.replaceAll(from, to);
  for (const expr of MINERVA_REMOVED) s = s.replaceAll(expr, "");
  // Keep what sits between the first two $ of each line, then unwrap \text{}, \textbf{}, \overline{}, \boxed{}.
  s = s.replace(/([^\n]*?)(\$)([^\n]*?)(\$)([^\n]*)/g, (_m, _a, _b, inner: string) => `$${inner}$`);
  s = s.replace(/(\\text\{)([^\n]*?)(\})/g, (_m, _a, inner: string) => inner);
  s = s.replace(/(\\textbf\{)([^\n]*?)(\})/g, (_m, _a, inner: string) => inner);
  s = s.replace(/(\\overline\{)([^\n]*?)(\})/g, (_m, _a, inner: string) => inner);
  s = s.replace(/(\\boxed\{)([^\n]*)(\})/g, (_m, _a, inner: string) => inner);
  // Shorthand TeX: \fracab → \frac{a}{b}, \sqrta → \sqrt{a}.
  s = s.replace(/(frac)([^{])([^\n])/g, (_m, _f, a: string, b: string) => `frac{${a}}{${b}}`);
  s = s.replace(/(sqrt)([^{])/g, (_m, _f, a: string) => `sqrt{${a}}`);
  s = s.replaceAll("$", "");
  // 100,000 → 100000
  if (/^\p{Nd}+$/u.test(s.replaceAll(",", ""))) s = s.replaceAll(",", "");
  return s;
}

// ---------------------------------------------------------------- MATH: Hendrycks (hendrycks_math)

/** Python raised inside the harness's string normalisation; its is_equiv then compares the raw strings. */
class NormaliseFailed extends Error {}

function fixFracs(s: string): string {
  const parts = s.split("\\frac");
  let out = parts[0] ?? "";
  for (const part of parts.slice(1)) {
    out += "\\frac";
    if (part.length === 0) throw new NormaliseFailed("\\frac at the end");
    if (part[0] === "{") {
      out += part;
      continue;
    }
    if (part.length < 2) return s;
    const a = part[0]!;
    const b = part[1]!;
    const rest = part.slice(2);
    out += b !== "{" ? `{${a}}{${b}}${rest}` : `{${a}}${b}${rest}`;
  }
  return out;
}

/** Python's int() on a string: optional whitespace and sign, digits with single underscores between them. */
function pythonInt(text: string): bigint | null {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(text);
  if (!m) return null;
  const value = BigInt(m[2]!.replaceAll("_", ""));
  return m[1] === "-" ? -value : value;
}

function fixASlashB(s: string): string {
  const parts = s.split("/");
  if (parts.length !== 2) return s;
  const a = pythonInt(parts[0]!);
  const b = pythonInt(parts[1]!);
  if (a === null || b === null) throw new NormaliseFailed("int() failed");
  if (s !== `${a}/${b}`) return s;
  return `\\frac{${a}}{${b}}`;
}

function removeRightUnits(s: string): string {
  if (!s.includes("\\text{ ")) return s;
  const parts = s.split("\\text{ ");
  if (parts.length !== 2) throw new NormaliseFailed("several \\text{ units");
  return parts[0]!;
}

function fixSqrt(s: string): string {
  if (!s.includes("\\sqrt")) return s;
  const parts = s.split("\\sqrt");
  let out = parts[0]!;
  for (const part of parts.slice(1)) {
    if (part.length === 0) throw new NormaliseFailed("\\sqrt at the end");
    out += part[0] !== "{" ? `\\sqrt{${part[0]}}${part.slice(1)}` : `\\sqrt${part}`;
  }
  return out;
}

/** The harness's hendrycks_math strip_string. Throws NormaliseFailed where the Python raises. */
export function hendrycksStrip(input: string): string {
  let s = input.replaceAll("\n", "");
  s = s.replaceAll("\\!", "");
  s = s.replaceAll("\\\\", "\\");
  s = s.replaceAll("tfrac", "frac").replaceAll("dfrac", "frac");
  s = s.replaceAll("\\left", "").replaceAll("\\right", "");
  s = s.replaceAll("^{\\circ}", "").replaceAll("^\\circ", "");
  s = s.replaceAll("\\$", "");
  s = removeRightUnits(s);
  s = s.replaceAll("\\%", "");
  s = s.replaceAll(" .", " 0.").replaceAll("{.", "{0.");
  if (s.length === 0) return s;
  if (s[0] === ".") s = `0${s}`;
  const sides = s.split("=");
  if (sides.length === 2 && [...sides[0]!].length <= 2) s = sides[1]!;
  s = fixSqrt(s);
  s = s.replaceAll(" ", "");
  s = fixFracs(s);
  if (s === "0.5") s = "\\frac{1}{2}";
  s = fixASlashB(s);
  return s;
}

/** hendrycks_math is_equiv: equal after strip_string, or equal as raw strings when normalising fails. */
export function hendrycksEquiv(a: string | null, b: string | null): boolean {
  if (a === null && b === null) return true;
  if (a === null || b === null) return false;
  try {
    return hendrycksStrip(a) === hendrycksStrip(b);
  } catch (error) {
    if (error instanceof NormaliseFailed) return a === b;
    throw error;
  }
}

/**
 * hendrycks_math's answer extraction from a generation: the last boxed answer, else the first
 * \[…\] display, else the text between the first and the last $, else the whole text.
 */
export function hendrycksExtract(generation: string): string | null {
  const boxed = lastBoxedOnlyString(generation);
  if (boxed !== null) return removeBoxed(boxed);
  const display = /\\\[([\s\S]+?)\\\]/.exec(generation);
  if (display) return pythonStrip(display[1]!);
  const first = generation.indexOf("$");
  const last = generation.lastIndexOf("$");
  if (first >= 0 && last > first) return generation.slice(first + 1, last);
  return generation;
}
