"""PyTorch CPU reference for bench/engine/run.mjs: the same Llama-shaped model, one training step.

Run by run.mjs under Debian's /usr/bin/python3 (python3-torch) with one JSON argument:
  {"model": {...benchLlamaConfig}, "batch": B, "seq": T, "gemm": [[m, n, k], ...], "threads": N, "seconds": S,
   "kind": "ce" | "lora-dpo", "prompt": P}
Prints one JSON line: median ms per forward+backward step, GEMM GFLOP/s, peak RSS, torch's BLAS.

The model (torch_common.Llama, shared with bench/train) mirrors seapo's LlamaModel: token
embedding, per layer x + attn(rmsnorm(x)) and
x + mlp(rmsnorm(x)) with rotate-half RoPE, grouped-query attention and a SwiGLU MLP, a final
RMSNorm and an lm_head tied to the embedding; loss = mean cross-entropy. Weights are random
(std 0.02, norms 1), tokens uniform, as on the seapo side.

kind "ce": forward, mean cross-entropy, backward of every weight. kind "lora-dpo": bench/train's
LoRALinear (rank 8, alpha 16, every linear layer of every block; imported from
bench/train/torch_reference.py), batch = 2·pairs sequences, reference log-probs with the adapters off
under no_grad, -logsigmoid(0.1 · margin) over summed log-probs of the positions after the prompt,
backward, clip_grad_norm_(1), AdamW on the adapters — the step of steps.mjs.
"""

import json
import os
import re
import resource
import sys
import time

import importlib.util

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_common import Llama, blas_in_use  # noqa: E402


def random_llama(m):
    """The shared Llama with seapo's random init: std 0.02 normals, norms 1."""
    model = Llama(m)
    for name, p in model.named_parameters():
        if not name.endswith("norm.weight"):
            torch.nn.init.normal_(p, std=0.02)
    return model


def train_lora():
    """bench/train/torch_reference.py as a module (its file name is this one's, so load it by path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train", "torch_reference.py")
    spec = importlib.util.spec_from_file_location("train_torch_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lora_dpo_step(model, inputs, targets, prompt):
    """One LoRA DPO step as steps.mjs runs it; inputs hold the chosen rows, then the rejected ones."""
    adapters = train_lora().apply_lora(model, 8, 16)
    params = [p for a in adapters for p in (a.lora_A, a.lora_B)]
    optimizer = torch.optim.AdamW(params, lr=5e-6, weight_decay=0)
    scored = torch.zeros(targets.shape)
    scored[:, prompt - 1 :] = 1
    B = inputs.shape[0] // 2

    def logps():
        logits = model(inputs)
        token = torch.gather(logits, 2, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
        return (token * scored).sum(-1)

    def step():
        with torch.no_grad():
            for a in adapters:
                a.enabled = False
            reference = logps()
            for a in adapters:
                a.enabled = True
        delta = logps() - reference
        loss = -F.logsigmoid(0.1 * (delta[:B] - delta[B:])).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def time_steps(step, seconds):
    """Median ms of the steps after a warm-up one: at least 3 timed, until `seconds` pass (a minute at most)."""
    times, total = [], 0.0
    while len(times) < 4 or (total < seconds and len(times) < 100):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        total += times[-1]
        if total > 60 and len(times) >= 2:
            break
    timed = sorted(times[1:])
    return timed[len(timed) // 2] * 1000


def gemm_rate(m, n, k):
    a, b = torch.rand(m, k), torch.rand(k, n)
    c = a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < 1.0:
        torch.mm(a, b, out=c)
        reps += 1
    return {"shape": f"{m}×{n}×{k}", "gflops": 2 * m * n * k * reps / (time.perf_counter() - start) / 1e9}


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    model = random_llama(job["model"])
    ids = torch.randint(0, job["model"]["vocabSize"], (job["batch"], job["seq"] + 1))
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def step():
        model.zero_grad(set_to_none=True)
        logits = model(inputs)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)).backward()

    if job.get("kind", "ce") == "lora-dpo":
        step = lora_dpo_step(model, inputs, targets, job["prompt"])

    step_ms = time_steps(step, job["seconds"])
    gemm = [gemm_rate(*shape) for shape in job["gemm"]]
    blas, reference = blas_in_use()
    print(json.dumps({
        "stepMs": step_ms,
        "gemm": gemm,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "blas": blas,
        "referenceBlas": reference,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
