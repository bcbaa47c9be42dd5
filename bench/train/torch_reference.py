"""PyTorch CPU reference for bench/train/run.mjs: the same preference-training step in plain torch.

Run by run.mjs under a python3 that imports torch (Debian's python3-torch) with one argument, the
path of a JSON job:
  {"model": {...}, "weightsDir": dir, "threads": N, "finetuning": "lora" | "full", "lora": {"rank", "alpha"},
   "loss": "dpo" | "kto", "beta", "lr", "weightDecay", "maxGradNorm", "warmup": W,
   "steps": [{"rows": [{"prompt": [ids], "completion": [ids]}, ...], "labels": [0/1, ...]}, ...]}
Prints one JSON line: the ms of every step (warm-up included; run.mjs drops them), step-1 metrics,
peak RSS, torch's version, BLAS and attention path.

The model is seapo's LlamaModel in torch: token embedding, per layer x + attn(rmsnorm(x)) and
x + mlp(rmsnorm(x)) with rotate-half RoPE, grouped-query attention and a SwiGLU MLP, a final RMSNorm,
lm_head tied to the embedding. Its weights are read from the model folder seapo trains (the same
model.safetensors), and each step sees the same rows in the same order as seapo's trainer, so the
first step's log-probs and (for full fine-tuning) gradient norm can be compared with seapo's.

One optimizer step, as seapo's trainer and TRL do it:
  policy log-probs of the batch (with grad), reference log-probs under torch.no_grad(),
  DPO: -logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()
  KTO: z0 = max(0, mean(kl_policy - kl_reference)) (KL rows under no_grad, detached),
       desirable 1 - sigmoid(beta * (delta - z0)), undesirable 1 - sigmoid(beta * (z0 - delta)), mean,
  backward, clip_grad_norm_(max_grad_norm), AdamW step, zero_grad(set_to_none=True).
LoRA is written out (no peft): y = base(x) + (alpha / r) * B(A(x)) on every linear layer of every block,
A ~ U(+-1/sqrt(in)), B = 0, base weights frozen; the reference is the same model with the adapters
switched off (peft's disable_adapter()). Full fine-tuning trains every weight; the reference is a
frozen deep copy made before the first step. Log-probs use TRL's selective_log_softmax form
(gathered logit - logsumexp).
"""

import copy
import json
import math
import os
import re
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_common import HAS_SDPA, Llama, blas_in_use  # noqa: E402


class LoRALinear(torch.nn.Module):
    """peft's LoRA Linear without dropout: base(x) + scaling * lora_B(lora_A(x)); `enabled` False is disable_adapter()."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        bound = 1 / math.sqrt(base.in_features)
        self.lora_A = torch.nn.Parameter(torch.empty(rank, base.in_features).uniform_(-bound, bound))
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scaling = alpha / rank
        self.enabled = True

    def forward(self, x):
        y = self.base(x)
        if not self.enabled:
            return y
        return y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def apply_lora(model, rank, alpha):
    """Freezes every base weight and wraps every linear layer of every block; returns the adapters."""
    for p in model.parameters():
        p.requires_grad_(False)
    adapters = []
    for block in model.layers:
        for parent in (block.self_attn, block.mlp):
            for name in LORA_TARGETS:
                if hasattr(parent, name):
                    wrapped = LoRALinear(getattr(parent, name), rank, alpha)
                    setattr(parent, name, wrapped)
                    adapters.append(wrapped)
    return adapters


def load_safetensors(model, directory):
    """Copies every F32 tensor of the folder's *.safetensors files into the parameter of the same name."""
    params = dict(model.named_parameters())
    seen = set()
    for file in sorted(f for f in os.listdir(directory) if f.endswith(".safetensors")):
        with open(os.path.join(directory, file), "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(size))
            for name, entry in header.items():
                if name == "__metadata__":
                    continue
                key = name[len("model."):] if name.startswith("model.") else name
                if key not in params:
                    raise KeyError(f"{file}: {name} has no parameter in the torch model")
                if entry["dtype"] != "F32":
                    raise ValueError(f"{file}: {name} is {entry['dtype']}; the bench writes F32")
                begin, end = entry["data_offsets"]
                handle.seek(8 + size + begin)
                data = torch.frombuffer(bytearray(handle.read(end - begin)), dtype=torch.float32).reshape(entry["shape"])
                with torch.no_grad():
                    params[key].copy_(data)
                seen.add(key)
    missing = sorted(set(params) - seen)
    if missing:
        raise KeyError(f"{directory}: no tensor for {', '.join(missing[:5])}")


def batch_tensors(rows):
    """Right-padded inputs, targets and completion masks, as seapo's completionLogps builds them."""
    T = max(len(r["prompt"]) + len(r["completion"]) for r in rows) - 1
    inputs = torch.zeros(len(rows), T, dtype=torch.long)
    targets = torch.zeros(len(rows), T, dtype=torch.long)
    scored = torch.zeros(len(rows), T)
    for i, r in enumerate(rows):
        seq = torch.tensor(r["prompt"] + r["completion"], dtype=torch.long)
        n = seq.numel() - 1
        inputs[i, :n] = seq[:-1]
        targets[i, :n] = seq[1:]
        scored[i, len(r["prompt"]) - 1 : n] = 1
    return inputs, targets, scored


def completion_logps(model, rows):
    """Summed completion log-probs [B]; right padding sits after every scored position, so causal masking suffices."""
    inputs, targets, scored = batch_tensors(rows)
    logits = model(inputs)  # (B, T, V)
    token_logps = torch.gather(logits, 2, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    return (token_logps * scored).sum(-1)


def time_step(step):
    start = time.perf_counter()
    out = step()
    return (time.perf_counter() - start) * 1000, out


def main():
    with open(sys.argv[1]) as handle:
        job = json.load(handle)
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    m = job["model"]
    policy = Llama(m)
    load_safetensors(policy, job["weightsDir"])
    beta = job["beta"]

    if job["finetuning"] == "lora":
        adapters = apply_lora(policy, job["lora"]["rank"], job["lora"]["alpha"])

        def reference(rows):
            with torch.no_grad():
                for a in adapters:
                    a.enabled = False
                try:
                    return completion_logps(policy, rows)
                finally:
                    for a in adapters:
                        a.enabled = True
    else:
        frozen = copy.deepcopy(policy).eval()
        for p in frozen.parameters():
            p.requires_grad_(False)

        def reference(rows):
            with torch.no_grad():
                return completion_logps(frozen, rows)

    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=job["lr"], weight_decay=job["weightDecay"])
    policy.train()

    def dpo(step):
        rows = step["rows"]
        B = len(rows) // 2
        logps = completion_logps(policy, rows)
        ref = reference(rows)
        margin = (logps[:B] - ref[:B]) - (logps[B:] - ref[B:])
        loss = -F.logsigmoid(beta * margin).mean()
        return loss, {"logps/chosen": logps[:B].mean().item()}

    def kto(step):
        labels = torch.tensor(step["labels"], dtype=torch.bool)
        B = labels.numel()
        items, kl_rows = step["rows"][:B], step["rows"][B:]
        logps = completion_logps(policy, items)
        ref = reference(items)
        with torch.no_grad():
            kl_policy = completion_logps(policy, kl_rows)
        kl_ref = reference(kl_rows)
        z0 = (kl_policy - kl_ref).mean().clamp(min=0).detach()
        delta = logps - ref
        per_item = torch.where(labels, 1 - torch.sigmoid(beta * (delta - z0)), 1 - torch.sigmoid(beta * (z0 - delta)))
        metrics = {"kl": z0.item()}
        if labels.any():
            metrics["logps/chosen"] = logps[labels].mean().item()
        return per_item.mean(), metrics

    compute = dpo if job["loss"] == "dpo" else kto

    def optimizer_step(step):
        loss, metrics = compute(step)
        value = loss.item()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, job["maxGradNorm"] if job["maxGradNorm"] > 0 else float("inf"))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": value, "grad_norm": float(grad_norm), **metrics}

    step_ms, first = [], None
    for step in job["steps"]:
        ms, metrics = time_step(lambda: optimizer_step(step))
        step_ms.append(ms)
        first = first or metrics
    blas, reference_blas = blas_in_use()
    print(json.dumps({
        "stepMs": step_ms,
        "first": first,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "attention": "F.scaled_dot_product_attention" if HAS_SDPA else "softmax(QK^T/sqrt(d) + causal mask) V (torch < 2.0 has no SDPA)",
        "trainable": sum(p.numel() for p in params),
        "blas": blas,
        "referenceBlas": reference_blas,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
