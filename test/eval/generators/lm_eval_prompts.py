#!/usr/bin/python3
"""Prompt-conformance fixture for `seapo eval`, built from lm-evaluation-harness's own task files.

Reads each task's YAML (and, for minerva_math, the prompt functions of its utils.py) from a bare git
clone of EleutherAI/lm-evaluation-harness at a named commit, renders the prompts of every document in
../shared/data the way the harness assembles them, and writes the sha256 of each prompt.

What is re-implemented here, from the harness's source at that commit:
  - jinja2 rendering with the harness's environment (StrictUndefined, keep_trailing_newline);
  - `include:` merging and `!function` references (read from the task's utils.py by name);
  - lm_eval/api/task.py fewshot_context + build_qa_turn for plain text (no chat template):
    description, then per exemplar doc_to_text + target_delimiter + target + fewshot_delimiter, then
    the document's doc_to_text; multiple-choice continuations are target_delimiter + choice;
  - lm_eval/api/samplers.py: first_n takes the first n; the default sampler is one
    random.Random(seed) per task drawing rnd.sample(fewshot_docs, n) for each document in order.
The loaders below only turn the local files into the Hugging Face datasets' field layout.
Nothing here imports or runs seapo.

    /usr/bin/python3 test/eval/generators/lm_eval_prompts.py \
        --harness-git /path/to/lm-evaluation-harness.git --data ../shared/data \
        --out test/eval/fixtures/lm-eval-prompts.json

Needs PyYAML and jinja2 (Debian: python3-yaml, python3-jinja2).
"""
import argparse
import ast
import csv
import functools
import glob
import hashlib
import json
import os
import random
import subprocess

import jinja2
import yaml

# The commits the fixture is generated from: the harness's HEAD when this was written, and the last
# commit before bbh's few-shot exemplars moved out of doc_to_text (bbh_cot_fewshot v2.0).
HEAD_COMMIT = "4e7e0d47f"
BBH_V2_COMMIT = "f4f59251c"  # the parent of 4902aaaf1
FIRST_N = 10
SEED = 1234


class Harness:
    def __init__(self, git_dir, commit):
        self.git_dir, self.commit = git_dir, commit
        self.env = jinja2.Environment(
            loader=jinja2.BaseLoader(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
        )

    def show(self, path):
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "show", f"{self.commit}:{path}"],
            check=True, capture_output=True, text=True,
        ).stdout

    def resolved_commit(self):
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "rev-parse", self.commit], check=True, capture_output=True, text=True
        ).stdout.strip()

    def task_config(self, path):
        """A task YAML with its `include:` chain merged (the including file wins)."""
        loader = type("Loader", (yaml.SafeLoader,), {})
        loader.add_constructor("!function", lambda l, node: {"function": l.construct_scalar(node)})
        config = yaml.load(self.show(path), Loader=loader)
        if "include" in config:
            base = self.task_config(os.path.join(os.path.dirname(path), config.pop("include")))
            base.update(config)
            config = base
        config["_dir"] = os.path.dirname(path)
        return config

    @functools.lru_cache(maxsize=None)
    def template(self, text):
        return self.env.from_string(text)

    def render(self, template, doc):
        return self.template(template).render(**doc)

    def function(self, config, ref):
        return self.function_in(config["_dir"], ref)

    @functools.lru_cache(maxsize=None)
    def function_in(self, folder, ref):
        """A `!function utils.name` from the task folder, its definition only (the module imports are not run)."""
        module, name = ref.split(".")
        source = self.show(f"{folder}/{module}.py")
        tree = ast.parse(source)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        namespace = {}
        exec(compile(ast.Module(body=defs, type_ignores=[]), module, "exec"), namespace)
        return namespace[name]


def field(harness, config, key, doc):
    """doc_to_text / doc_to_target / doc_to_choice as lm_eval/api/task.py resolves them (plain values)."""
    spec = config.get(key)
    if isinstance(spec, dict) and "function" in spec:
        return harness.function(config, spec["function"])(doc)
    if isinstance(spec, (int, list)):
        return spec
    if spec in doc:
        return doc[spec]
    out = harness.render(spec, doc)
    if key == "doc_to_choice" and out.startswith("["):
        return ast.literal_eval(out)
    if key == "doc_to_target" and out.isdigit() and config.get("doc_to_choice") is not None:
        return int(out)
    return out


def answer_text(harness, config, doc):
    target = field(harness, config, "doc_to_target", doc)
    if isinstance(target, int) and config.get("doc_to_choice") is not None:
        return field(harness, config, "doc_to_choice", doc)[target]
    return target[0] if isinstance(target, list) else target


def fewshot_pool(harness, config, splits):
    fewshot = config.get("fewshot_config") or {}
    samples = fewshot.get("samples")
    if isinstance(samples, dict):
        return fewshot.get("sampler", "default"), harness.function(config, samples["function"])()
    if samples is not None:
        return fewshot.get("sampler", "default"), samples
    split = config.get("fewshot_split") or config.get("training_split")
    return fewshot.get("sampler", "default"), splits.get(split, [])


def prompts(harness, config, docs, splits, num_fewshot):
    """(context, continuations) per document, in document order, as the harness builds its requests."""
    target_delim = config.get("target_delimiter", " ")
    fewshot_delim = config.get("fewshot_delimiter", "\n\n")
    sampler, pool = fewshot_pool(harness, config, splits)
    rnd = random.Random(SEED)
    out = []
    for doc in docs:
        description = harness.render(config["description"], doc) if config.get("description") else ""
        context = description
        if num_fewshot > 0:
            shots = pool[:num_fewshot] if sampler == "first_n" else rnd.sample(list(pool), num_fewshot)
            for shot in shots:
                context += field(harness, config, "doc_to_text", shot) + target_delim
                context += answer_text(harness, config, shot) + fewshot_delim
        context += field(harness, config, "doc_to_text", doc)
        choices = None
        if config["output_type"] == "multiple_choice":
            choices = [target_delim + c for c in field(harness, config, "doc_to_choice", doc)]
        out.append((context, choices))
    return out


def sha(context, choices):
    text = context if choices is None else "\0".join([context, *choices])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ local files in the HF datasets' shape

def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def arc_docs(path):
    return [
        {
            "id": r["id"],
            "question": r["question"]["stem"],
            "choices": {
                "text": [c["text"] for c in r["question"]["choices"]],
                "label": [c["label"] for c in r["question"]["choices"]],
            },
            "answerKey": r["answerKey"],
        }
        for r in jsonl(path)
    ]


def mmlu_docs(path, subject):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [
        {"question": r[0], "subject": subject, "choices": r[1:5], "answer": "ABCD".index(r[5].strip())}
        for r in rows
    ]


def bbh_docs(data, name):
    with open(f"{data}/bbh/bbh/{name}.json", encoding="utf-8") as f:
        return json.load(f)["examples"]


# ------------------------------------------------------------------ the tasks seapo runs

def generation(config):
    kwargs = config.get("generation_kwargs") or {}
    return {"until": kwargs.get("until"), "max_gen_toks": kwargs.get("max_gen_toks", 256)}


def entry(harness, config, docs, splits=None, num_fewshot=None):
    n = config.get("num_fewshot", 0) if num_fewshot is None else num_fewshot
    hashes = [sha(c, ch) for c, ch in prompts(harness, config, docs, splits or {}, n)]
    return hashes, config


def summarise(version, parts, gen):
    """One task: its version, the hashes of its first documents (per subtask), and one hash over all."""
    every = [h for _, hashes in parts for h in hashes]
    return {
        "harnessVersion": version,
        "n": len(every),
        "first": {name: hashes[:FIRST_N] for name, hashes in parts},
        "all": hashlib.sha256("\n".join(every).encode()).hexdigest(),
        **({"generation": gen} if gen else {}),
    }


def bbh_task(harness, data, version):
    names = sorted(os.path.basename(p)[:-5] for p in glob.glob(f"{data}/bbh/bbh/*.json"))
    parts, config = [], None
    for name in names:
        config = harness.task_config(f"lm_eval/tasks/bbh/cot_fewshot/{name}.yaml")
        # v2.0 held the exemplars in doc_to_text and set num_fewshot 0; v4.0 uses fewshot_config with 3.
        hashes, _ = entry(harness, config, bbh_docs(data, name))
        parts.append((name, hashes))
    assert str(config["metadata"]["version"]) == version, config["metadata"]
    return summarise(version, parts, generation(config))


def tasks_at_head(harness, data):
    t = {}
    tqa = jsonl(f"{data}/truthfulqa/mc_task_v0.jsonl")
    for name in ["truthfulqa_mc1", "truthfulqa_mc2"]:
        hashes, cfg = entry(harness, harness.task_config(f"lm_eval/tasks/truthfulqa/{name}.yaml"), tqa)
        t[name] = summarise(str(cfg["metadata"]["version"]), [("", hashes)], None)
    parts = []
    for path in sorted(glob.glob(f"{data}/mmlu/test/*_test.csv")):
        subject = os.path.basename(path)[: -len("_test.csv")]
        cfg = harness.task_config(f"lm_eval/tasks/mmlu/default/mmlu_{subject}.yaml")
        dev = mmlu_docs(f"{data}/mmlu/dev/{subject}_dev.csv", subject)
        hashes, cfg = entry(harness, cfg, mmlu_docs(path, subject), {"dev": dev}, num_fewshot=5)
        parts.append((subject, hashes))
    t["mmlu"] = summarise(str(cfg["metadata"]["version"]), parts, None)
    for level in ["Easy", "Challenge"]:
        name = f"arc_{level.lower()}"
        hashes, cfg = entry(harness, harness.task_config(f"lm_eval/tasks/arc/{name}.yaml"),
                            arc_docs(f"{data}/arc/ARC-{level}/ARC-{level}-Test.jsonl"))
        t[name] = summarise(str(cfg["metadata"]["version"]), [("", hashes)], None)
    gsm_test, gsm_train = jsonl(f"{data}/gsm8k/test.jsonl"), jsonl(f"{data}/gsm8k/train.jsonl")
    for name, file in [("gsm8k_cot", "gsm8k-cot.yaml"), ("gsm8k", "gsm8k.yaml")]:
        hashes, cfg = entry(harness, harness.task_config(f"lm_eval/tasks/gsm8k/{file}"), gsm_test, {"train": gsm_train})
        t[name] = summarise(str(cfg["metadata"]["version"]), [("", hashes)], generation(cfg))
    hashes, cfg = entry(harness, harness.task_config("lm_eval/tasks/minerva_math/minerva_math500.yaml"),
                        jsonl(f"{data}/math500/test.jsonl"))
    t["minerva_math500"] = summarise(str(cfg["metadata"]["version"]), [("", hashes)], generation(cfg))
    hashes, cfg = entry(harness, harness.task_config("lm_eval/tasks/humaneval/humaneval.yaml"),
                        jsonl(f"{data}/humaneval/HumanEval.jsonl"))
    t["humaneval"] = summarise(str(cfg["metadata"]["version"]), [("", hashes)], generation(cfg))
    t["bbh_cot_fewshot"] = bbh_task(harness, data, "4.0")
    return t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--harness-git", required=True, help="bare clone of EleutherAI/lm-evaluation-harness")
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    head = Harness(args.harness_git, HEAD_COMMIT)
    old = Harness(args.harness_git, BBH_V2_COMMIT)
    fixture = {
        "harness": "EleutherAI/lm-evaluation-harness",
        "commit": head.resolved_commit(),
        "generator": "test/eval/generators/lm_eval_prompts.py",
        "hash": "sha256 of the context; multiple choice: context, then each continuation, NUL-separated",
        "firstN": FIRST_N,
        "fewshotSeed": SEED,
        "tasks": tasks_at_head(head, args.data),
        "olderVersions": {
            "bbh_cot_fewshot": {"commit": old.resolved_commit(), **bbh_task(old, args.data, "2.0")},
        },
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
