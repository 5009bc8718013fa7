"""Which precision pays for PyTorch on its device: decided by hardware and a measurement, as
nst/precision.py decides it for TensorFlow, and cached the same way.

`auto` picks bfloat16 where the device has bfloat16 arithmetic (a CUDA GPU of compute
capability 8.0 or newer, a CPU with avx512_bf16 or amx_bf16 under oneDNN) and a bfloat16 3x3
convolution runs at least MIN_SPEEDUP times as fast as float32 there; else float32. `tf32`
keeps float32 numbers but lets CUDA's matrix units round products' inputs to TF32 (Ampere and
newer): the run record says whether it was allowed. On Apple's MPS `auto` keeps float32.
"""

from __future__ import annotations

import os
import time

import torch
import torch.nn.functional as F

from ..device import cpu_flags, cpu_model
from ..precision import CONV_SHAPE, CPU_BF16_FLAGS, Choice, measured_speedup, verdict


def bfloat16_hardware(device: torch.device) -> str | None:
    """What gives `device` bfloat16 arithmetic PyTorch uses, or None."""
    if device.type == "cuda":
        capability = torch.cuda.get_device_capability(device)
        return f"GPU compute capability {capability}" if capability >= (8, 0) else None
    if device.type == "cpu":
        flag = next((flag for flag in CPU_BF16_FLAGS if flag in cpu_flags()), None)
        return f"CPU flag {flag}" if flag and torch.backends.mkldnn.is_available() else None
    return None


def conv_rates(device: torch.device, dtypes=("float32", "bfloat16"), repeats: int = 5,
               shape: tuple[int, ...] = CONV_SHAPE) -> dict[str, float]:
    """GFLOP/s of one 3x3 'same' convolution in each dtype on `device`, best of `repeats`, taking turns."""
    n, h, w, channels = shape
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(n, channels, h, w, generator=generator).to(device).contiguous(memory_format=torch.channels_last)
    kernel = (torch.randn(channels, channels, 3, 3, generator=generator) * 0.05).to(device)
    convs = {dtype: (base.to(getattr(torch, dtype)), kernel.to(getattr(torch, dtype))) for dtype in dtypes}

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with torch.no_grad():
        for x, k in convs.values():
            F.conv2d(x, k, padding=1)  # warm up (cuDNN picks its algorithm)
        sync()
        best = dict.fromkeys(dtypes, float("inf"))
        for _ in range(repeats):
            for dtype, (x, k) in convs.items():
                started = time.perf_counter()
                F.conv2d(x, k, padding=1)
                sync()
                best[dtype] = min(best[dtype], time.perf_counter() - started)
    flops = 2 * 9 * channels * channels * h * w * n
    return {dtype: flops / seconds / 1e9 for dtype, seconds in best.items()}


def _machine(device: torch.device) -> str:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    flags = ",".join(sorted(cpu_flags() & {*CPU_BF16_FLAGS, "avx512f", "avx2", "avx512_vnni"}))
    env = ",".join(f"{k}={os.environ.get(k, '')}" for k in ("ONEDNN_MAX_CPU_ISA", "CUDA_VISIBLE_DEVICES"))
    return f"{where} [{flags}] PyTorch {torch.__version__} {device.type} {env}"


def choose(requested: str, device: torch.device) -> Choice:
    """The precision to compute in on `device`, and why."""
    if requested == "tf32":
        if device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0):
            return Choice("tf32", "tf32 was asked for: float32 numbers, TF32 products on this GPU")
        return Choice("float32", "tf32 was asked for, but TF32 is CUDA's (Ampere and newer): float32")
    if requested != "auto":
        return Choice(requested, f"{requested} was asked for")
    hardware = bfloat16_hardware(device)
    if hardware is None:
        where = {"cuda": "this GPU is older than Ampere", "mps": "Apple's MPS runs float32 here"}.get(
            device.type, "this CPU has neither avx512_bf16 nor amx_bf16 under PyTorch's oneDNN")
        return Choice("float32", f"auto: {where}, so bfloat16 would be widened or emulated")
    measured = measured_speedup(_machine(device), lambda dtypes, repeats: conv_rates(device, dtypes, repeats))
    return verdict(measured, hardware)
