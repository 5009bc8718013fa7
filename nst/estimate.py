"""What a run will cost, from the layer shapes alone: memory, work and time.

The memory estimate is checked before any tensor is allocated, so an oversized request
fails in a second with a clear message instead of the machine swapping or the kernel
killing the process an hour into a sweep. The workflow asks the same functions for its
jobs' memory and time requests, so a cluster job asks for what the engine will use.
"""

from __future__ import annotations

import os
from pathlib import Path

from .backbones import layers_up_to
from .errors import SettingsError

# Calibrated with benchmarks/performance.py (part 4) on this project's CPU machine (VGG19 to
# block5_conv3, float32, one evaluation): peak RSS 1455 MiB at 512² and 2943 MiB at 1024², i.e.
# ~0.95 GiB for TensorFlow and the weights plus ~1.5 float32 copies of every layer output
# (forward values kept for the gradient, and the gradient). Two copies and 1 GiB give headroom.
COPIES_PER_ACTIVATION = 2.0
FIXED_BYTES = 1.0 * 2**30


def activation_elements(backbone: str, layer_names: list[str], height: int, width: int) -> int:
    """Elements of every layer output the network computes for one (height, width) image."""
    total = height * width * 3
    for layer in layers_up_to(backbone, layer_names):
        total += (height // layer.downsample) * (width // layer.downsample) * layer.out_channels
    return total


def lbfgs_bytes(height: int, width: int, history: int) -> int:
    """scipy's L-BFGS-B work array, (2m + 5) float64 vectors of the image's size, plus x and g."""
    return (2 * history + 7) * 3 * height * width * 8


def estimate_bytes(backbone: str, layer_names: list[str], height: int, width: int, lbfgs_history: int = 10) -> int:
    activations = COPIES_PER_ACTIVATION * 4 * activation_elements(backbone, layer_names, height, width)
    return int(FIXED_BYTES + activations + lbfgs_bytes(height, width, lbfgs_history))


def conv_flops(backbone: str, layer_names: list[str], height: int, width: int) -> int:
    """Multiply-adds x 2 of the forward convolutions up to the deepest named layer."""
    return sum(
        2 * 9 * layer.in_channels * layer.out_channels * (height // layer.downsample) * (width // layer.downsample)
        for layer in layers_up_to(backbone, layer_names)
        if layer.kind == "conv"
    )


# The slowest throughput this project has measured for a whole evaluation: 2-core AMD EPYC
# Zen 3 (AVX2), float32, 398 GFLOP in 4.0 s at 512² (README, performance), i.e. 50 GFLOP/s per
# thread. Time requests assume it, so they are generous on faster CPUs and on GPUs.
SLOWEST_GFLOPS_PER_THREAD = 50.0


def evaluation_seconds(backbone: str, layer_names: list[str], height: int, width: int, threads: int = 1) -> float:
    """Seconds of one loss+gradient evaluation (forward and image gradient) on the slowest CPU measured."""
    flops = 2 * conv_flops(backbone, layer_names, height, width)
    return flops / (SLOWEST_GFLOPS_PER_THREAD * 1e9 * max(1, threads))


def run_seconds(settings, backbone: str, height: int, width: int, threads: int = 1) -> float:
    """Seconds of a whole run: every stage's expected evaluations at its own size."""
    total = 0.0
    for stage in settings.stages():
        scale = stage.size / max(height, width)
        h, w = max(1, round(height * scale)), max(1, round(width * scale))
        evaluations = stage.iterations * settings.expected_evaluations_per_iteration(stage)
        total += evaluations * evaluation_seconds(backbone, settings.layers(), h, w, threads)
    return total


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (no check)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(backbone: str, layer_names: list[str], height: int, width: int, lbfgs_history: int = 10) -> int:
    """Raise `SettingsError` when the estimate exceeds the memory available; return the estimate.

    `NST_MEMORY_LIMIT_MB` overrides the available memory (e.g. a job's allocation).
    """
    need = estimate_bytes(backbone, layer_names, height, width, lbfgs_history)
    limit = os.environ.get("NST_MEMORY_LIMIT_MB")
    have = int(float(limit) * 2**20) if limit else available_bytes()
    if have is not None and need > have:
        raise SettingsError(
            f"option size: a {width}x{height} image needs about {need / 2**30:.1f} GiB with {backbone}, "
            f"but only {have / 2**30:.1f} GiB is available; choose a smaller --size"
        )
    return need
