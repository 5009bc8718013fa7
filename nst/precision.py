"""Which precision pays on this machine: decided by hardware and a measurement, and explained.

`--precision auto` picks bfloat16 only where both hold:
* the hardware has bfloat16 arithmetic: a CPU with `avx512_bf16` or `amx_bf16`, or GPUs of
  compute capability 8.0 (Ampere) or newer; elsewhere TensorFlow widens bfloat16 to float32
  or emulates it, which is never faster and is less accurate;
* on a CPU, TensorFlow runs oneDNN's kernels (without them, `TF_ENABLE_ONEDNN_OPTS=0`, its
  own kernels widen bfloat16 to float32);
* a bfloat16 3x3 convolution, the operation evaluations spend their time in, runs at least
  `MIN_SPEEDUP` times as fast as in float32 here. oneDNN limits (`ONEDNN_MAX_CPU_ISA`),
  `TF_ENABLE_ONEDNN_OPTS=0` and TensorFlow builds differ, so this is measured, once per CPU
  model, TensorFlow version and those variables, and cached in the nst cache directory.
The choice and its reason go into every run record. Nothing here assumes a CPU: on a GPU
the same convolution is timed there.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass

from .device import cpu_flags, cpu_model, gpus, onednn_enabled
from .files import DiskFullError, write_text_atomic

MIN_SPEEDUP = 1.25
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
ENVIRONMENT = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "CUDA_VISIBLE_DEVICES")
CONV_SHAPE = (1, 64, 64, 256)  # input; the kernel is 3x3, 256 -> 256 channels: 4.8 GFLOP


@dataclass(frozen=True)
class Choice:
    precision: str
    reason: str


def bfloat16_hardware() -> str | None:
    """What gives this machine bfloat16 arithmetic TensorFlow uses, or None. A CPU's bfloat16
    units only count with oneDNN's kernels on: TensorFlow's own (`TF_ENABLE_ONEDNN_OPTS=0`)
    widen bfloat16 to float32, measured 0.97-1.28x float32 here, a ratio that once crossed
    MIN_SPEEDUP under a parallel test's load, so that case is not left to a timing."""
    found = gpus()
    if found:
        capabilities = [tuple(g["compute_capability"] or (0, 0)) for g in found]
        return f"GPU compute capability {min(capabilities)}" if min(capabilities) >= (8, 0) else None
    flags = cpu_flags()
    flag = next((flag for flag in CPU_BF16_FLAGS if flag in flags), None)
    return f"CPU flag {flag}" if flag and onednn_enabled() else None


def conv_rates(dtypes: tuple[str, ...], repeats: int = 5, shape: tuple[int, ...] = CONV_SHAPE) -> dict[str, float]:
    """GFLOP/s of one 3x3 'same' convolution in each of `dtypes`, best of `repeats`. The dtypes
    take turns, so a load that comes and goes (another job starting beside this one) falls on
    each of them alike: timed one after the other, float32 quiet and bfloat16 under load came
    out 1.01x in a test run beside other tests, where quiet the ratio is 2.0x."""
    from .quiet import tf

    channels = shape[-1]
    convs = {}
    for dtype in dtypes:
        x = tf.cast(tf.random.stateless_normal(shape, (1, 2)), dtype)
        k = tf.cast(tf.random.stateless_normal((3, 3, channels, channels), (3, 4)) * 0.05, dtype)
        conv = tf.function(lambda a, b: tf.nn.conv2d(a, b, 1, "SAME"), autograph=False)
        conv(x, k).numpy()  # trace and warm up
        convs[dtype] = (conv, x, k)
    best = dict.fromkeys(dtypes, float("inf"))
    for _ in range(repeats):
        for dtype, (conv, x, k) in convs.items():
            started = time.perf_counter()
            conv(x, k).numpy()
            best[dtype] = min(best[dtype], time.perf_counter() - started)
    flops = 2 * 9 * channels * channels * shape[1] * shape[2] * shape[0]
    return {dtype: flops / seconds / 1e9 for dtype, seconds in best.items()}


@dataclass(frozen=True)
class Measurement:
    float32_gflops: float
    bfloat16_gflops: float
    machine: str

    @property
    def speedup(self) -> float:
        return self.bfloat16_gflops / self.float32_gflops


def _machine() -> str:
    from .quiet import tf

    env = ",".join(f"{k}={os.environ.get(k, '')}" for k in ENVIRONMENT)
    devices = ";".join(g["name"] for g in gpus()) or cpu_model()
    flags = ",".join(sorted(cpu_flags() & {*CPU_BF16_FLAGS, "avx512f", "avx2", "avx512_vnni"}))
    return f"{devices} [{flags}] TensorFlow {tf.__version__} {env}"


def verdict(measured: Measurement, hardware: str) -> Choice:
    """bfloat16 where it measured at least MIN_SPEEDUP times as fast as float32, else float32."""
    ratio = f"a bfloat16 3x3 convolution ran {measured.speedup:.2f}x as fast as float32 here ({hardware})"
    if measured.speedup >= MIN_SPEEDUP:
        return Choice("bfloat16", f"auto: {ratio}")
    return Choice("float32", f"auto: {ratio}, below the {MIN_SPEEDUP}x that pays for its rounding")


def measured_speedup(machine: str | None = None, rates=None) -> Measurement:
    """bfloat16 against float32 convolution throughput here, from the cache or measured now (~1 s).
    `machine` (the cache's key) and `rates(dtypes, repeats)` are TensorFlow's unless a backend gives its own."""
    from .network_weights import cache_dir

    machine = machine or _machine()
    rates = rates or conv_rates
    path = cache_dir() / f"precision-{hashlib.sha256(machine.encode()).hexdigest()[:16]}.json"
    try:
        cached = json.loads(path.read_text())
        if cached.get("machine") == machine:
            return Measurement(**cached)
    except (OSError, ValueError, TypeError):
        pass
    found = rates(("float32", "bfloat16"), repeats=9)
    measurement = Measurement(found["float32"], found["bfloat16"], machine)
    try:  # atomic: jobs started side by side may measure and write at once
        write_text_atomic(path, json.dumps(asdict(measurement), indent=2))
    except (OSError, DiskFullError):
        pass  # a read-only or full cache only means measuring again next time
    return measurement


def choose(requested: str) -> Choice:
    """The precision TensorFlow computes in, and why (PyTorch's: nst/backends/torch_precision.py)."""
    if requested == "tf32":
        return Choice("float32", "tf32 was asked for: TensorFlow computes float32 (TF32 is the PyTorch backend's, on CUDA)")
    if requested != "auto":
        return Choice(requested, f"{requested} was asked for")
    hardware = bfloat16_hardware()
    if hardware is None:
        if gpus():
            where = "these GPUs are older than Ampere"
        elif cpu_flags() & set(CPU_BF16_FLAGS):
            where = "oneDNN is off here (TF_ENABLE_ONEDNN_OPTS=0), and TensorFlow's own CPU kernels compute in float32"
        else:
            where = "this CPU has neither avx512_bf16 nor amx_bf16"
        return Choice("float32", f"auto: {where}, so bfloat16 would be widened or emulated")
    return verdict(measured_speedup(), hardware)

