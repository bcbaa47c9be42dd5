"""What both PyTorch references (bench/engine, bench/train) share: the Llama model that mirrors seapo's
(Hugging Face parameter names), and the check of which BLAS torch really runs on (a reference BLAS
flatters seapo)."""
import math
import os
import re

import torch
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")  # torch >= 2.0


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_tables(T, head_dim, theta):
    """cos and sin of the rotate-half RoPE angles for positions 0..T-1, each (T, head_dim)."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def causal_mask(T):
    """The additive causal mask the manual path needs; None where SDPA masks by itself."""
    return None if HAS_SDPA else torch.full((T, T), float("-inf")).triu(1)


def causal_attention(q, k, v, cos, sin, mask):
    """Rotate-half RoPE, grouped-query heads repeated as transformers' repeat_kv does, then causal
    softmax attention: fused SDPA where torch has it, else the explicit product with `mask`.
    q (B, H, T, D); k, v (B, Hkv, T, D); returns (B, H, T, D)."""
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    if HAS_SDPA:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + mask  # (B, H, T, T)
    return torch.softmax(scores, dim=-1) @ v


def linear(i, o, bias=False):
    return torch.nn.Linear(i, o, bias=bias)


class Attention(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        d, self.heads, self.kv_heads, self.head_dim = m["hiddenSize"], m["numHeads"], m["numKvHeads"], m["headDim"]
        qkv_bias = m.get("attentionBias", False)  # Qwen2: biases on q, k and v
        self.q_proj = linear(d, self.heads * self.head_dim, qkv_bias)
        self.k_proj = linear(d, self.kv_heads * self.head_dim, qkv_bias)
        self.v_proj = linear(d, self.kv_heads * self.head_dim, qkv_bias)
        self.o_proj = linear(self.heads * self.head_dim, d)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, Hkv, T, D)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        y = causal_attention(q, k, v, cos, sin, mask)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class Mlp(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        d, ffn = m["hiddenSize"], m["intermediateSize"]
        self.gate_proj = linear(d, ffn)
        self.up_proj = linear(d, ffn)
        self.down_proj = linear(ffn, d)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.self_attn = Attention(m)
        self.mlp = Mlp(m)
        self.input_layernorm = RMSNorm(m["hiddenSize"], m["rmsNormEps"])
        self.post_attention_layernorm = RMSNorm(m["hiddenSize"], m["rmsNormEps"])

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Llama(torch.nn.Module):
    """seapo's LlamaModel with tied embeddings, configured by a seapo model config (bench/common.mjs's
    benchLlamaConfig). Parameter names are Hugging Face's without the leading "model." (no lm_head.weight)."""

    def __init__(self, m):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(m["vocabSize"], m["hiddenSize"])
        self.layers = torch.nn.ModuleList(Block(m) for _ in range(m["numLayers"]))
        self.norm = RMSNorm(m["hiddenSize"], m["rmsNormEps"])
        self.head_dim = m["headDim"]
        self.theta = m["ropeTheta"]

    def forward(self, ids):
        T = ids.shape[1]
        cos, sin = rope_tables(T, self.head_dim, self.theta)
        mask = causal_mask(T)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x) @ self.embed_tokens.weight.t()  # tied lm_head


def blas_in_use():
    """The BLAS library this process mapped, read from /proc/self/maps after a matmul, and whether it
    is the unoptimised reference (netlib) BLAS."""
    torch.rand(64, 64) @ torch.rand(64, 64)
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line.lower()}
    paths = sorted(p for p in paths if "/" in p and "lapack" not in p)
    resolved = sorted({os.path.realpath(p) for p in paths})
    reference = any("/blas/" in p and "openblas" not in p and "blis" not in p for p in resolved)
    blas_info = re.search(r"BLAS_INFO=[^,\s]+", torch.__config__.show())
    return f"{', '.join(resolved) or 'none mapped'} ({blas_info.group(0) if blas_info else 'BLAS_INFO not shown'})", reference
