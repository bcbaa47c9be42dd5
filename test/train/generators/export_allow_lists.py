"""Allow-lists for `seapo export`: the config fields each TRL release and LLaMA-Factory revision parses.

Run with /usr/bin/python3 (standard library only), from the repository root:

    /usr/bin/python3 test/train/generators/export_allow_lists.py \
        --trl-git /work/.mirror/huggingface+trl/repo --llamafactory-git /work/.mirror/hiyouga+LLaMA-Factory/repo

It reads each project's sources at a tag or commit with `git show` and walks them with `ast`:

- TRL: the dataclasses that `trl/scripts/{dpo,kto}.py` hand to TrlParser (`dataclass_types` in
  make_parser), each class resolved through the script's imports, with its bases inside TRL; the
  loss_type values of DPOConfig and KTOConfig (their `choices` metadata, or the values named in the
  help text); whether DPOTrainer's `sigmoid` branch reads label_smoothing; and whether `trl dpo|kto`
  hands launch arguments such as `--accelerate_config` to `accelerate launch` (the trl/cli package
  with resolve_accelerate_config_argument) or drops them (trl/cli.py up to v0.28).
- LLaMA-Factory: the classes of hparams/parser.py's `_TRAIN_ARGS`, with their bases inside it, and
  FinetuningArguments' pref_loss choices.

transformers' TrainingArguments is a base of both; its field list is taken from
fixtures/transformers-training-arguments.json (see the note there) and merged in by name. Each list
records repository, tag, commit and file. Output: test/train/fixtures/export-allow-lists.json.
"""

import argparse
import ast
import json
import re
import subprocess
from pathlib import Path

TRL_TAGS = ["v0.28.0", "v1.0.0", "v1.4.0", "v1.9.0"]
LLAMAFACTORY_COMMIT = "ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True).stdout


class Source:
    """One project at one revision: files by path, classes found by name."""

    def __init__(self, repo, rev, package):
        self.repo, self.rev, self.package = repo, rev, package
        self.commit = git(repo, "rev-parse", f"{rev}^{{commit}}").strip()
        self.paths = [p for p in git(repo, "ls-tree", "-r", "--name-only", self.commit).splitlines() if p.endswith(".py")]
        self.trees = {}

    def tree(self, path):
        if path not in self.trees:
            self.trees[path] = ast.parse(git(self.repo, "show", f"{self.commit}:{path}"))
        return self.trees[path]

    def text(self, path):
        return git(self.repo, "show", f"{self.commit}:{path}")



def module_path(importer, module, level):
    """The package folder an ImportFrom points to, as a path prefix."""
    if level == 0:
        return module.replace(".", "/")
    base = Path(importer).parent
    for _ in range(level - 1):
        base = base.parent
    return str(base / module.replace(".", "/")) if module else str(base)


def imported_from(src, path, name):
    for node in ast.walk(src.tree(path)):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return node.module or "", node.level, alias.name
    return None


def module_alias(src, path, name):
    """`Name = Other` at module level (LLaMA-Factory's BaseTrainingArguments), skipping the USE_MCA branch."""
    for node in ast.walk(src.tree(path)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            value = ast.unparse(node.value)
            origin = imported_from(src, path, value)
            if origin is None or origin[0].split(".")[0] != "mcore_adapter":
                return value
    return None


def resolve_class(src, importer, name, external):
    """(file, ClassDef) of `name` as `importer` sees it, following imports and re-exports through
    package __init__ files; (None, its name there) when it comes from an external package (transformers)."""
    for node in src.tree(importer).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return importer, node
    origin = imported_from(src, importer, name)
    if origin is not None:
        module, level, original = origin
        if level == 0 and module.split(".")[0] in external:
            return None, original
        target = module_path(importer, module, level)
        for path in (f"{target}.py", f"{target}/__init__.py"):
            if path in src.paths:
                return resolve_class(src, path, original, external)
        raise SystemExit(f"{src.rev}: {importer} imports {name} from {module}, which is not in the package")
    alias = module_alias(src, importer, name)
    if alias is not None:
        return resolve_class(src, importer, alias, external)
    raise SystemExit(f"{src.rev}: cannot place class {name} used in {importer}")


def dataclass_fields(cls):
    """Names of the class's own init fields (annotated assignments, no ClassVar, no init=False, no _private)."""
    names = []
    for node in cls.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        if name.startswith("_") or "ClassVar" in ast.unparse(node.annotation):
            continue
        value = node.value
        if isinstance(value, ast.Call) and any(
            k.arg == "init" and isinstance(k.value, ast.Constant) and k.value.value is False for k in value.keywords
        ):
            continue
        names.append(name)
    return names


def field_call(cls, name):
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    return None


def metadata_entry(call, key):
    for k in getattr(call, "keywords", []):
        if k.arg == "metadata" and isinstance(k.value, ast.Dict):
            for dk, dv in zip(k.value.keys, k.value.values):
                if isinstance(dk, ast.Constant) and dk.value == key:
                    return ast.literal_eval(dv)
    return None


def class_record(src, importer, name, external, training_arguments):
    """A class's fields with its bases' (inside the package, and TrainingArguments from the fixture)."""
    path, cls = resolve_class(src, importer, name, external)
    if path is None:
        if cls in ("TrainingArguments", "Seq2SeqTrainingArguments"):
            return {"name": cls, "from": training_arguments["source"], "fields": training_arguments["fields"]}
        raise SystemExit(f"{src.rev}: {cls} comes from outside {src.package} and has no fixture")
    fields = dataclass_fields(cls)
    bases = [class_record(src, path, ast.unparse(b).split(".")[-1], external, training_arguments) for b in cls.bases]
    own = set(fields)
    for base in bases:
        fields += [f for f in base["fields"] if f not in own]
        own.update(base["fields"])
    return {"name": name, "file": path, "bases": [b["name"] for b in bases], "fields": sorted(set(fields))}


def script_classes(src, script):
    for node in ast.walk(src.tree(script)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "dataclass_types" for t in node.targets):
            return [ast.unparse(e) for e in node.value.elts]
    raise SystemExit(f"{src.rev}: no dataclass_types in {script}")


def loss_types(src, importer, name):
    path, cls = resolve_class(src, importer, name, {"transformers"})
    call = field_call(cls, "loss_type")
    choices = metadata_entry(call, "choices")
    if choices is None:
        help_text = metadata_entry(call, "help")
        choices = re.findall(r"`'([a-z_]+)'`", help_text.split("Possible values are")[1])
    return {"file": path, "values": list(choices)}


def sigmoid_reads_label_smoothing(src):
    text = src.text("trl/trainer/dpo_trainer.py")
    branch = re.search(r'loss_type == "sigmoid":(.*?)\n\s*elif ', text, re.S)
    return {"file": "trl/trainer/dpo_trainer.py", "value": "label_smoothing" in branch.group(1)}


def accelerate_config_reaches_launch(src):
    path = "trl/cli/commands/training.py"
    if path in src.paths:
        return {"file": path, "value": "resolve_accelerate_config_argument" in src.text(path)}
    # trl/cli.py: dpo and kto parse launch arguments only from the script path itself.
    text = src.text("trl/cli.py")
    branch = re.search(r'args\.command == "dpo":(.*?)\n\s*elif ', text, re.S).group(1)
    return {"file": "trl/cli.py", "value": "launch_args" in branch}


def trl_version(repo, tag, training_arguments):
    src = Source(repo, tag, "trl")
    scripts = {}
    for trainer, config in (("dpo", "DPOConfig"), ("kto", "KTOConfig")):
        script = f"trl/scripts/{trainer}.py"
        classes = [class_record(src, script, c, {"transformers"}, training_arguments) for c in script_classes(src, script)]
        scripts[trainer] = {
            "script": script,
            "classes": classes,
            "loss_types": loss_types(src, script, config),
        }
    return {
        "repo": "huggingface/trl",
        "tag": tag,
        "commit": src.commit,
        "scripts": scripts,
        "sigmoid_reads_label_smoothing": sigmoid_reads_label_smoothing(src),
        "accelerate_config_reaches_launch": accelerate_config_reaches_launch(src),
    }


def llamafactory(repo, training_arguments):
    src = Source(repo, LLAMAFACTORY_COMMIT, "src/llamafactory")
    parser = "src/llamafactory/hparams/parser.py"
    names = None
    for node in src.tree(parser).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_TRAIN_ARGS" for t in node.targets):
            names = [ast.unparse(e) for e in node.value.elts]
    classes = [class_record(src, parser, n, {"transformers"}, training_arguments) for n in names]
    path, rlhf = resolve_class(src, "src/llamafactory/hparams/finetuning_args.py", "RLHFArguments", {"transformers"})
    pref_loss = next(
        ast.literal_eval(n.annotation.slice)
        for n in rlhf.body
        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", None) == "pref_loss"
    )
    return {
        "repo": "hiyouga/LLaMA-Factory",
        "describe": git(repo, "describe", "--tags", src.commit).strip(),
        "commit": src.commit,
        "parser": parser,
        "classes": classes,
        "pref_loss": {"file": path, "values": list(pref_loss)},
    }


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--trl-git", required=True)
    args.add_argument("--llamafactory-git", required=True)
    opts = args.parse_args()
    training_arguments = json.loads((FIXTURES / "transformers-training-arguments.json").read_text())
    out = {
        "generator": "test/train/generators/export_allow_lists.py",
        "trl": {tag: trl_version(opts.trl_git, tag, training_arguments) for tag in TRL_TAGS},
        "llamafactory": llamafactory(opts.llamafactory_git, training_arguments),
    }
    (FIXTURES / "export-allow-lists.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
