"""PyTorch CPU reference for bench/engine/run.mjs: the same Llama-shaped model, one training step.

Run by run.mjs under Debian's /usr/bin/python3 (python3-torch) with one JSON argument:
  {"model": {...}, "batch": B, "seq": T, "gemm": [[m, n, k], ...], "threads": N, "seconds": S}
Prints one JSON line: median ms per forward+backward step, GEMM GFLOP/s, peak RSS, torch's BLAS.

The model mirrors seapo's LlamaModel: token embedding, per layer x + attn(rmsnorm(x)) and
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
from torch_common import RMSNorm, blas_in_use, causal_attention, causal_mask, rope_tables  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, m, eps):
        super().__init__()
        d, self.heads, self.kv_heads = m["hiddenSize"], m["numHeads"], m["numKvHeads"]
        self.head_dim = d // self.heads
        linear = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.q_proj = linear(d, self.heads * self.head_dim)
        self.k_proj = linear(d, self.kv_heads * self.head_dim)
        self.v_proj = linear(d, self.kv_heads * self.head_dim)
        self.o_proj = linear(self.heads * self.head_dim, d)
        self.gate_proj = linear(d, m["intermediateSize"])
        self.up_proj = linear(d, m["intermediateSize"])
        self.down_proj = linear(m["intermediateSize"], d)
        self.input_layernorm = RMSNorm(d, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)

    def attention(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, Hkv, T, D)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        y = causal_attention(q, k, v, cos, sin, mask)  # (B, H, T, D)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))

    def forward(self, x, cos, sin, mask):
        h = x + self.attention(self.input_layernorm(x), cos, sin, mask)
        n = self.post_attention_layernorm(h)
        return h + self.down_proj(F.silu(self.gate_proj(n)) * self.up_proj(n))


class Llama(torch.nn.Module):
    def __init__(self, m, theta=10000.0, eps=1e-5):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(m["vocabSize"], m["hiddenSize"])
        self.layers = torch.nn.ModuleList(Block(m, eps) for _ in range(m["numLayers"]))
        self.norm = RMSNorm(m["hiddenSize"], eps)
        self.head_dim = m["hiddenSize"] // m["numHeads"]
        self.theta = theta
        for name, p in self.named_parameters():
            if not name.endswith("norm.weight"):
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, ids):
        T = ids.shape[1]
        cos, sin = rope_tables(T, self.head_dim, self.theta)
        mask = causal_mask(T)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x) @ self.embed_tokens.weight.t()  # tied lm_head


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
    model = Llama(job["model"])
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
