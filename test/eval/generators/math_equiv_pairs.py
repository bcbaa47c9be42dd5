#!/usr/bin/python3
"""Answer pairs for minerva_math500 with the harness's sympy equivalence verdict on each.

lm-evaluation-harness (lm_eval/tasks/minerva_math/utils.py at 4e7e0d47f) scores minerva_math's
exact_match with `is_equiv(normalize_final_answer(answer), doc["answer"])`: both sides parsed by
sympy's parse_latex, equivalent when sympy.simplify(a - b) == 0, and not equivalent when either side
fails to parse, the subtraction fails or it times out (5 s). The gold side is
normalize_final_answer(remove_boxed(last_boxed_only_string(solution))).

Limitation: sympy 1.11's parse_latex needs the ANTLR runtime 4.10 exactly (the harness pins 4.11 with
a newer sympy); Debian 12 ships python3-antlr4 4.9.1, whose ATN format the generated parser cannot
read. So parse_latex is replaced here by `latex_to_sympy`: a small rewrite of the normalised LaTeX
(\\frac, \\sqrt, \\cdot, ^, braces, \\pi, \\infty, trig names) into sympy syntax, parsed with
sympy.parsing.sympy_parser.parse_expr (implicit multiplication, single letters as symbols). Anything
else with a backslash left in it counts as a parse failure, as an unknown command does in parse_latex.

The pairs: for MATH-500 gold answers (every fourth row), the gold against itself,
against rewrites that should be equivalent, and against perturbations that should not be.

    /usr/bin/python3 test/eval/generators/math_equiv_pairs.py --data ../shared/data \\
        --out test/eval/fixtures/math-equiv-pairs.json
"""
import argparse
import json
import re
import signal
import string

import sympy
from sympy.parsing.sympy_parser import (
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

# ---------------------------------------------------------------- the harness's normalisation (utils.py)

SUBSTITUTIONS = [
    ("an ", ""), ("a ", ""), (".$", "$"), ("\\$", ""), (r"\ ", ""), (" ", ""), ("mbox", "text"),
    (",\\text{and}", ","), ("\\text{and}", ","), ("\\text{m}", "\\text{}"),
]
REMOVED_EXPRESSIONS = [
    "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots", "sue",
    "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters", "meals", "edges",
    "students", "childrentickets", "multiples", "\\text{s}", "\\text{.}", "\\text{\ns}", "\\text{}^2",
    "\\text{}^3", "\\text{\n}", "\\text{}", r"\mathrm{th}", r"^\circ", r"^{\circ}", r"\;", r",\!", "{,}", '"',
    "\\dots",
]


def normalize_final_answer(final_answer):
    final_answer = final_answer.split("=")[-1]
    for before, after in SUBSTITUTIONS:
        final_answer = final_answer.replace(before, after)
    for expr in REMOVED_EXPRESSIONS:
        final_answer = final_answer.replace(expr, "")
    final_answer = re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\\3$", final_answer)
    final_answer = re.sub(r"(\\text\{)(.*?)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(\\textbf\{)(.*?)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(\\overline\{)(.*?)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(\\boxed\{)(.*)(\})", "\\2", final_answer)
    final_answer = re.sub(r"(frac)([^{])(.)", "frac{\\2}{\\3}", final_answer)
    final_answer = re.sub(r"(sqrt)([^{])", "sqrt{\\2}", final_answer)
    final_answer = final_answer.replace("$", "")
    if final_answer.replace(",", "").isdigit():
        final_answer = final_answer.replace(",", "")
    return final_answer


def last_boxed_only_string(s):
    idx = s.rfind("\\boxed")
    if "\\boxed " in s:
        return "\\boxed " + s.split("\\boxed ")[-1].split("$")[0]
    if idx < 0:
        idx = s.rfind("\\fbox")
        if idx < 0:
            return None
    depth = 0
    for i in range(idx, len(s)):
        if s[i] == "{":
            depth += 1
        if s[i] == "}":
            depth -= 1
            if depth == 0:
                return s[idx: i + 1]
    return None


def remove_boxed(s):
    if "\\boxed " in s:
        return s[len("\\boxed "):]
    return s[len("\\boxed{"): -1]


# ---------------------------------------------------------------- parse_latex stand-in

class ParseFailed(Exception):
    pass


def braced(s, i):
    """The text inside the brace group starting at s[i] == '{', and the index after it."""
    if i >= len(s) or s[i] != "{":
        raise ParseFailed(s)
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1: j], j + 1
    raise ParseFailed(s)


def rewrite(s):
    out, i = "", 0
    while i < len(s):
        if s.startswith("\\frac", i):
            num, i = braced(s, i + 5)
            den, i = braced(s, i)
            out += f"(({rewrite(num)})/({rewrite(den)}))"
        elif s.startswith("\\sqrt[", i):
            j = s.index("]", i)
            body, i2 = braced(s, j + 1)
            out += f"(({rewrite(body)})**(1/({rewrite(s[i + 6:j])})))"
            i = i2
        elif s.startswith("\\sqrt", i):
            body, i = braced(s, i + 5)
            out += f"sqrt({rewrite(body)})"
        else:
            out += s[i]
            i += 1
    return out


COMMANDS = [
    ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"),
    ("\\cdot", "*"), ("\\times", "*"), ("\\pi", " pi "), ("\\infty", " oo "), ("\\sin", " sin "),
    ("\\cos", " cos "), ("\\tan", " tan "), ("\\ln", " log "), ("\\log", " log "),
]
LOCALS = {c: sympy.Symbol(c) for c in string.ascii_letters}
LOCALS.update({"pi": sympy.pi, "oo": sympy.oo, "sqrt": sympy.sqrt, "sin": sympy.sin, "cos": sympy.cos,
               "tan": sympy.tan, "log": sympy.log})
TRANSFORMS = standard_transformations + (implicit_multiplication_application,)


def latex_to_sympy(text):
    s = text
    for before, after in COMMANDS:
        s = s.replace(before, after)
    s = rewrite(s)
    # A leftover command, or a subscript on a number (52_8, a base): Python would read 52_8 as 528.
    if "\\" in s or not s.strip() or re.search(r"\d_", s):
        raise ParseFailed(text)
    s = s.replace("{", "(").replace("}", ")").replace("^", "**")
    try:
        return parse_expr(s, local_dict=dict(LOCALS), transformations=TRANSFORMS, evaluate=True)
    except Exception as e:  # a syntax error, an unknown token: parse_latex raises LaTeXParsingError
        raise ParseFailed(text) from e


def _alarm(signum, frame):
    raise TimeoutError()


def is_equiv(x1, x2):
    """The harness's is_equiv, with latex_to_sympy in place of parse_latex."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:
        try:
            a, b = latex_to_sympy(x1), latex_to_sympy(x2)
        except ParseFailed:
            return False
        try:
            diff = a - b
        except TypeError:
            return False
        return bool(sympy.simplify(diff) == 0)
    except Exception:  # the harness returns False on every other failure, a timeout included
        return False
    finally:
        signal.alarm(0)


# ---------------------------------------------------------------- the pairs

INT = re.compile(r"\d+")


def equivalent_forms(gold):
    """Rewrites a model might give for the same value."""
    forms = []
    m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", gold)
    if m:
        forms.append(f"{m[1]}{m[2]}/{m[3]}")
        forms.append(f"{m[1]}\\dfrac{{{m[2]}}}{{{m[3]}}}")
        if 10**6 % int(m[3]) == 0:
            forms.append(f"{m[1]}{int(m[2]) / int(m[3])}")
    m = re.fullmatch(r"(\d+)\\sqrt\{(\d+)\}", gold)
    if m:
        forms.append(f"\\sqrt{{{int(m[1]) ** 2 * int(m[2])}}}")
    if re.fullmatch(r"-?\d+", gold):
        forms.append(f"{gold}.0")
        forms.append(f"\\frac{{{2 * int(gold)}}}{{2}}")
    m = re.fullmatch(r"([^+]+)\+([^+]+)", gold)
    if m and "," not in gold and "(" not in gold:
        forms.append(f"{m[2]}+{m[1]}")
    if "," not in gold and gold:
        forms.append(f"({gold})")
    return forms[:3]


def different_forms(gold):
    """Near misses: an off-by-one number, the reciprocal of a fraction, the opposite sign."""
    forms = []
    m = INT.search(gold)
    if m:
        forms.append(gold[: m.start()] + str(int(m[0]) + 1) + gold[m.end():])
    m = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", gold)
    if m and m[1] != m[2]:
        forms.append(f"\\frac{{{m[2]}}}{{{m[1]}}}")
    if "," not in gold and gold and gold != "0":
        forms.append(f"-({gold})" if "+" in gold or "-" in gold else f"-{gold}")
    return forms[:2]


def pairs(rows):
    for row in rows:
        boxed = last_boxed_only_string(row["solution"])
        if boxed is None:
            continue
        gold = normalize_final_answer(remove_boxed(boxed))
        yield row["unique_id"], "same", gold, gold
        for form in equivalent_forms(gold):
            yield row["unique_id"], "rewritten", normalize_final_answer(form), gold
        for form in different_forms(gold):
            yield row["unique_id"], "perturbed", normalize_final_answer(form), gold


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(f"{args.data}/math500/test.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()][::4]
    out = [
        {"id": uid, "kind": kind, "answer": answer, "gold": gold, "sympy": is_equiv(answer, gold)}
        for uid, kind, answer, gold in pairs(rows)
    ]
    fixture = {
        "generator": "test/eval/generators/math_equiv_pairs.py",
        "harness": "EleutherAI/lm-evaluation-harness 4e7e0d47f, lm_eval/tasks/minerva_math/utils.py is_equiv",
        "sympy": sympy.__version__,
        "parser": "latex_to_sympy (a stand-in for parse_latex, which needs antlr4 4.10: see the generator)",
        "pairs": out,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
