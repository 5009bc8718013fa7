"""The compute device: what it is, where TensorFlow runs, and how many threads it uses.

Nothing here pins a device: TensorFlow places work on a GPU when it sees one and on the
CPU otherwise, so the same code serves a laptop and a GPU node.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def onednn_enabled() -> bool:
    """Whether TensorFlow's CPU kernels are oneDNN's: its default on x86 CPUs with AVX-512 VNNI,
    AVX-512 bf16 or AMX, unless TF_ENABLE_ONEDNN_OPTS says otherwise (read without importing it)."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if setting in ("0", "false"):
        return False
    if setting in ("1", "true"):
        return True
    return bool(cpu_flags() & {"avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"})


def configure_threads(threads: int) -> None:
    """Set TensorFlow's thread pools; must run before TensorFlow executes anything."""
    if threads <= 0:
        return
    from .quiet import tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1 if threads <= 2 else 2)
    except RuntimeError:
        pass  # already initialised in this process (a second run): keep its pools


def gpus() -> list[dict]:
    from .quiet import tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (ValueError, RuntimeError):
            details = {}
        found.append({"name": details.get("device_name", device.name), "compute_capability": details.get("compute_capability")})
    return found


def describe_device() -> str:
    found = gpus()
    if found:
        return "GPU: " + ", ".join(g["name"] for g in found)
    return f"CPU: {cpu_model()} ({os.cpu_count()} cores)"



def gpu_hardware(proc: Path = Path("/proc"), dev: Path = Path("/dev"), system: str | None = None,
                 machine: str | None = None) -> str | None:
    """A GPU this machine has that PyTorch can compute on, in a few words, found without importing a
    tensor library: an NVIDIA driver's GPUs (/proc/driver/nvidia/gpus), AMD's ROCm device (/dev/kfd),
    Apple silicon (MPS); None where none shows."""
    models = []
    try:
        for gpu in sorted((proc / "driver" / "nvidia" / "gpus").iterdir()):
            lines = (gpu / "information").read_text(errors="replace").splitlines()
            models += [line.split(":", 1)[1].strip() for line in lines if line.startswith("Model:")] or ["NVIDIA"]
    except OSError:
        pass
    if models:
        return ", ".join(models)
    if (dev / "kfd").exists():
        return "an AMD GPU (ROCm)"
    if (system or platform.system()) == "Darwin" and (machine or platform.machine()) == "arm64":
        return "Apple silicon (MPS)"
    return None
