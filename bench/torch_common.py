"""Pieces both PyTorch references (bench/engine, bench/train) share: the Llama building blocks that
mirror seapo's, and the check of which BLAS torch really runs on (a reference BLAS flatters seapo)."""
import os
import re

import torch


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
