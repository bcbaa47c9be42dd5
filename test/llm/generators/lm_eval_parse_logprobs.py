#!/usr/bin/python3
"""lm-evaluation-harness's own reading of `seapo serve`'s echo replies.

lm-evaluation-harness scores log-likelihood requests against an OpenAI-compatible server with its
`local-completions` model: it sends context + continuation as token ids with `echo: true`,
`max_tokens: 1` and `logprobs: 1`, and reads the reply with `LocalCompletionsAPI.parse_logprobs`
(lm_eval/models/openai_completions.py). This generator takes that function from the harness's source
at a pinned commit (with `ast`, so nothing else of lm_eval is imported) and runs it on replies that
`seapo serve` gave for stories260K, which test/llm/serve-lm-eval.test.ts records. The test then
checks that the live server still gives those replies, and that lm-eval's reading of them equals the
engine's own scores. Standard library only:

    SEAPO_RECORD_SERVE_REPLIES=1 npx vitest run test/llm/serve-lm-eval.test.ts
    /usr/bin/python3 test/llm/generators/lm_eval_parse_logprobs.py \\
        --harness-git /work/.mirror/EleutherAI+lm-evaluation-harness/repo \\
        --replies test/llm/fixtures/serve-echo-replies.json --out test/llm/fixtures/lm-eval-parse-logprobs.json
"""
import argparse
import ast
import json
import subprocess
from operator import itemgetter

HARNESS_COMMIT = "4e7e0d47f"
SOURCE = "lm_eval/models/openai_completions.py"


def harness_parse_logprobs(repo):
    text = subprocess.run(
        ["git", "--git-dir", repo, "show", f"{HARNESS_COMMIT}:{SOURCE}"], check=True, capture_output=True, text=True
    ).stdout
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "LocalCompletionsAPI":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "parse_logprobs":
                    item.decorator_list = []
                    module = ast.Module(body=[item], type_ignores=[])
                    namespace = {"itemgetter": itemgetter}
                    exec(compile(module, SOURCE, "exec"), namespace)
                    return namespace["parse_logprobs"]
    raise SystemExit(f"{SOURCE} at {HARNESS_COMMIT}: no LocalCompletionsAPI.parse_logprobs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--harness-git", required=True)
    parser.add_argument("--replies", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    parse_logprobs = harness_parse_logprobs(args.harness_git)
    with open(args.replies, encoding="utf-8") as f:
        recorded = json.load(f)
    results = []
    for case in recorded["cases"]:
        [(logprob, is_greedy)] = parse_logprobs(case["reply"], ctxlens=[case["ctxlen"]])
        results.append({"logprob": logprob, "isGreedy": is_greedy})
    out = {
        "generator": "test/llm/generators/lm_eval_parse_logprobs.py",
        "harness": f"EleutherAI/lm-evaluation-harness {HARNESS_COMMIT}, {SOURCE} LocalCompletionsAPI.parse_logprobs",
        "replies": args.replies,
        "results": results,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
