"""Computes the hand-worked cases of test/eval/seapo-paper.test.ts with open-instruct's own code.

Run: /usr/bin/python3 test/eval/generators/seapo_paper_cases.py <open-instruct git dir>
It reads eval/ at commit 8b9069993ccfd6e67ce8e41f942c6b9eea8bc5e2 (the last commit with that folder)
with `git show`, executes the pure functions it needs (no torch, vllm or pandas), and prints JSON.
The SeaPO changes the issue names (GSM8K stop, MATH boxed scoring) are applied here as the test does.
"""
import json
import re
import string
import subprocess
import sys

COMMIT = "8b9069993ccfd6e67ce8e41f942c6b9eea8bc5e2"
GIT = sys.argv[1]


def source(path):
    return subprocess.run(["git", "--git-dir", GIT, "show", f"{COMMIT}:{path}"], check=True, capture_output=True, text=True).stdout


def module(path):
    ns = {}
    exec(source(path), ns)
    return ns


def exact_match(pred, ref):
    # evaluate's exact_match with ignore_case=True, ignore_punctuation=True (no regexes, numbers kept).
    table = str.maketrans("", "", string.punctuation)
    return float(pred.lower().translate(table) == ref.lower().translate(table))


gsm = module("eval/gsm/examplars.py")["EXAMPLARS"]
math_ex = module("eval/MATH/examplars.py")["EXAMPLARS"]
mu = module("eval/MATH/minerva_utils.py")
ut = module("eval/MATH/utilities.py")
tqa = {}
exec(source("eval/truthfulqa/presets.py"), tqa)
# utilities.py imports pandas at the top; its answer-set helpers need neither pandas nor the presets.
tu = {}
exec("import numpy as np\n" + "\n".join(
    l for l in source("eval/truthfulqa/utilities.py").splitlines() if not l.startswith(("import pandas", "from eval"))), tu)
mc_src = source("eval/truthfulqa/metrics.py")
mc_calcs = mc_src[mc_src.index("def MC_calcs"):mc_src.index("def run_gpt_classifier_eval")]


class Frame:
    """Just enough of a DataFrame for MC_calcs: frame.loc[idx, col] = v and frame.at[idx, col] = v."""
    def __init__(self):
        self.cells = {}
        self.loc = self.at = self

    def __setitem__(self, key, value):
        self.cells[key[1]] = value


mc = {"np": __import__("numpy")}
exec(mc_calcs, mc)


def mc_scores(true, false, best):
    frame = Frame()
    refs = [f"t{i}" for i in range(len(true))]
    mc["MC_calcs"]("m", frame, 0, true, false, refs, refs[best])
    return [frame.cells["m MC1"], float(frame.cells["m MC2"])]


def gsm_prompt(q, n):
    demos = ["Question: " + e["question"] + "\n" + "Answer: " + e["cot_answer"] for e in gsm[:n]]
    prefix = "Answer the following questions.\n\n" + "\n\n".join(demos) + "\n\n"
    return prefix + "Question: " + q.strip() + "\nAnswer:"


def gsm_extract(output):
    output = re.sub(r"(\d),(\d)", r"\1\2", output)
    numbers = re.findall(r"[-+]?\d*\.\d+|\d+", output)
    return numbers[-1] if numbers else output


def math_prompt(q, n):
    demos = [("Problem:\n" + e["question"] + "\n\n" + "Solution:", e["cot_answer"] + "\n" + "Final Answer: " +
              f"The final answer is ${e['short_answer']}$. I hope it is correct.") for e in math_ex[:n]]
    initial = "\n\n".join(["\n".join(d) for d in demos])
    return initial + "\n\nProblem:\n" + q.strip() + "\n\nSolution:\n"


def math_answer(text):
    return mu["normalize_final_answer"](ut["remove_boxed"](ut["last_boxed_only_string"](text)))


def bbh_prompt(file_text, inp):
    lines = file_text.splitlines(keepends=True)
    return "".join(lines[2:]).strip() + "\n\nQ: " + inp + "\nA:"


def bbh_extract(output):
    m = re.search(r"[t|T]he answer is (.*?)\.", output)
    return m.group(1).strip() if m else output.strip()


out = {
    "gsm8k": {
        "prompt1": gsm_prompt("  Tom has 3 apples. How many?  ", 1),
        "prompt8_sha_len": len(gsm_prompt("Q?", 8)),
        "extract": {s: gsm_extract(s) for s in ["It is 1,234.5 dollars, or 7.", "costs -5 now", "+3.5 and .5", "1,2,3", "no digits"]},
        "em": [exact_match("5", "-5"), exact_match("5.0", "5"), exact_match("1200", "1200")],
        "reference": re.sub(r"(\d),(\d)", r"\1\2", "so 1,200\n#### 1,200 ".split("####")[1].strip()),
    },
    "math": {
        "prompt1": math_prompt("  What is 1+1?\n", 1),
        "prompt4_len": len(math_prompt("Q", 4)),
        "answers": {s: math_answer(s) for s in [
            "so \\boxed{\\frac12} and then $\\boxed{\\dfrac{1}{2}}$.",
            "\\fbox{3}", "\\boxed 5", "Final Answer: The final answer is $4$. I hope it is correct.",
            "\\boxed{10\\text{ cm}}"]},
        "equiv": [mu["is_equiv"](math_answer("$\\boxed{\\dfrac{1}{2}}$"), math_answer("\\boxed{\\frac{1}{2}}")),
                  mu["is_equiv"](math_answer("\\boxed{0.5}"), math_answer("\\boxed{\\frac12}")),
                  mu["is_equiv"](math_answer("\\boxed 5"), math_answer("\\boxed{5}"))],
    },
    "bbh": {
        "prompt": bbh_prompt("canary\n-----\nDesc.\n\nQ: q1\nA: Let's think step by step.\nr1. So the answer is x.\n\nQ: q2\nA: Let's think step by step.\nr2. So the answer is y.\n\nQ: q3\nA: Let's think step by step.\nr3. So the answer is z.\n", "in"),
        "extract": {s: bbh_extract(s) for s in ["So the answer is (B). Then the answer is (C).", "THE ANSWER IS no.",
                                                "|he answer is Yes.", "the answer is 3.5.", "  nothing here \n"]},
        "em": [exact_match("(B)", "(b)"), exact_match("Yes", "yes"), exact_match("valid", "invalid")],
    },
    "truthfulqa": {
        "primer": tqa["QA_PRIMER"],
        "split": tu["split_multi_answer"](" Nothing happens; You eat seeds.;  ; x "),
        "best": tu["format_best"]("  The seeds pass through "),
        "mc_tie": mc_scores([-1.0, -2.0], [-1.0], 0),
        "mc_win": mc_scores([-3.0, -0.5], [-1.0, -4.0], 1),
    },
}
print(json.dumps(out, indent=1))
