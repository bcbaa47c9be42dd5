"""PyTorch CPU reference for bench/engine/run.mjs: the same Llama-shaped model, one training step.

Run by run.mjs under Debian's /usr/bin/python3 (python3-torch) with one JSON argument:
  {"model": {...benchLlamaConfig}, "batch": B, "seq": T, "gemm": [[m, n, k], ...], "threads": N, "seconds": S}
Prints one JSON line: median ms per forward+backward step, GEMM GFLOP/s, peak RSS, torch's BLAS.

The model (torch_common.Llama, shared with bench/train) mirrors seapo's LlamaModel: token
embedding, per layer x + attn(rmsnorm(x)) and
x + mlp(rmsnorm(x)) with rotate-half RoPE, grouped-query attention and a SwiGLU MLP, a final
RMSNorm and an lm_head tied to the embedding; loss = mean cross-entropy. Weights are random
(std 0.02, norms 1), tokens uniform, as on the seapo side.
"""

import json
import os
import re
import resource
import sys
import time

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
