"""PyTorch below the boundary (nst/backends/__init__.py): eager graphs differentiated by autograd,
VGG as `conv2d`s in channels-last memory (cuDNN's and oneDNN's fast layout), and the optimiser's
arrays as tensors on the same device, so on a GPU the image, its gradient, the tiles and the
float32 L-BFGS's memory stay there; the host sees the image once per iteration.

The device: CUDA where PyTorch sees it (ROCm builds of PyTorch present AMD GPUs as CUDA), else
Apple's MPS, else the CPU; `--device` chooses.
"""

from __future__ import annotations

import functools
import operator

import numpy as np
import torch
import torch.nn.functional as F

from ..backbones import Layer, build, cut_after
from ..errors import SettingsError
from .vectors import TorchVectors

DTYPES = {"float32": torch.float32, "tf32": torch.float32, "bfloat16": torch.bfloat16}


def pick_device(device: str = "auto") -> torch.device:
    """The device `device` names; for auto, CUDA, else MPS, else the CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "gpu":
        device = "cuda"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SettingsError("device", f"{device} was asked for, but this PyTorch sees no CUDA device "
                                      f"(PyTorch {torch.__version__}); use --device cpu, or a CUDA build of PyTorch")
    if device.startswith("cuda:") and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise SettingsError("device", f"{device} was asked for, but this machine has {torch.cuda.device_count()} "
                                      "CUDA device(s), numbered from 0")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SettingsError("device", "mps was asked for, but this PyTorch sees no Apple GPU; use --device cpu")
    return torch.device(device)


class _CustomGradient(torch.autograd.Function):
    """y = forward(x)[0], with forward(x)[1] as its gradient (TensorFlow's custom_gradient, in autograd)."""

    @staticmethod
    def forward(ctx, x, forward):
        y, gradient = forward(x)
        ctx.gradient = gradient
        return y

    @staticmethod
    def backward(ctx, upstream):
        return ctx.gradient(upstream), None


class TorchOps:
    """The array functions a term's maths is written with, on PyTorch tensors."""

    name = "torch"
    float32 = torch.float32

    def __init__(self, device: torch.device, lacks: frozenset = frozenset()):
        self.device = device
        # the scalars' common type on their way to the host: float64 where the device has it (MPS has not)
        self.scalar_dtype = torch.float32 if "float64" in lacks else torch.float64

    def spec(self, shape: tuple, dtype=None):
        return None  # nothing is traced: shapes need no declaring

    def constant(self, value, like=None):
        return torch.tensor(value, dtype=torch.float32, device=self.device)

    def zeros_like(self, x):
        return torch.zeros_like(x)

    def float32_of(self, x):
        return x.float()

    def cast_like(self, x, like):
        return x.to(like.dtype)

    def scalar(self, value):
        return torch.tensor(float(value), dtype=torch.float32, device=self.device)

    def size(self, x, axis: int):
        return self.scalar(x.shape[axis])

    def dim(self, x, axis: int):
        return x.shape[axis]

    def sum(self, x, axis=None):
        return x.sum() if axis is None else x.sum(dim=axis)

    def mean(self, x, axis=None):
        return x.mean() if axis is None else x.mean(dim=axis)

    def square(self, x):
        return torch.square(x)

    def sqrt(self, x):
        return torch.sqrt(x)

    def abs(self, x):
        return torch.abs(x)

    def reshape(self, x, shape):
        return x.reshape(shape)

    def reshape_like(self, x, like):
        return x.reshape(like.shape)

    def matmul(self, a, b, transpose_a: bool = False):
        return (a.transpose(-2, -1) if transpose_a else a) @ b

    def transpose(self, x):
        return x.transpose(-2, -1)

    def stack(self, values, axis: int = 0):
        return torch.stack(list(values), dim=axis)

    def concat(self, values, axis: int):
        return torch.cat(list(values), dim=axis)

    def add_n(self, values):
        return functools.reduce(operator.add, values)

    def pad(self, x, paddings):
        """Zeros before and after each axis, TensorFlow's order ((before, after) per axis, first axis first)."""
        flat = [amount for before_after in reversed(paddings) for amount in before_after]
        return F.pad(x, flat)

    def divide_no_nan(self, a, b):
        zero = b == 0
        return torch.where(zero, torch.zeros_like(a), a / torch.where(zero, torch.ones_like(b), b))

    def roll(self, x, shift: int, axis: int):
        return torch.roll(x, shifts=shift, dims=axis)

    def stop_gradient(self, x):
        return x.detach()

    def custom_gradient(self, forward):
        return lambda x: _CustomGradient.apply(x, forward)

    def to_float(self, x) -> float:
        return float(x)

    def to_floats(self, values: list) -> list[float]:
        """Scalars to the host in one transfer (on a GPU, one wait instead of one per value)."""
        return torch.stack([torch.as_tensor(v, device=self.device).to(self.scalar_dtype) for v in values]).tolist()

    def indices(self, rows: list[list[int]]):
        return rows  # eager slicing takes plain numbers


class _Conv:
    """One `relu(conv(x, k) + b)` layer, its kernel in PyTorch's (out, in, 3, 3) layout."""

    def __init__(self, layer: Layer, kernel: np.ndarray, bias: np.ndarray, dtype, device):
        self.name, self.dtype = layer.name, dtype
        weight = np.ascontiguousarray(np.asarray(kernel, np.float32).transpose(3, 2, 0, 1))  # Keras (3, 3, in, out)
        self.weight = torch.as_tensor(weight, device=device).to(dtype).contiguous(memory_format=torch.channels_last)
        self.bias = torch.as_tensor(np.asarray(bias, np.float32), device=device).to(dtype)

    def __call__(self, x):
        return F.relu(F.conv2d(x.to(self.dtype), self.weight, self.bias, padding=1))


class TorchFeatureNetwork:
    """Maps a (1, H, W, 3) BGR mean-subtracted float32 image to its activations, as nst.network's does.

    Only the layers up to the deepest of `outputs` exist. With bfloat16 every layer but the first
    computes in bfloat16 (the first reads raw pixel values, which bfloat16 would round to whole
    units). Maps are returned as (1, h, w, C) views of channels-last memory: the layout the terms
    read, with no copy.
    """

    def __init__(self, backbone: str, weights: dict, outputs: list[str], precision: str, pooling: str, device):
        compute = DTYPES[precision]
        build(self, backbone, weights, outputs, precision, pooling,
              lambda layer, kernel, bias, reads_pixels: _Conv(layer, kernel, bias,
                                                              torch.float32 if reads_pixels else compute, device))

    def up_to(self, outputs: list[str]) -> "TorchFeatureNetwork":
        """The same network (the same weights, not copies) cut after the deepest of `outputs`."""
        return cut_after(self, outputs)

    def __call__(self, image):
        x = image.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        collected = {}
        for layer in self.layers:
            if layer.kind == "conv":
                x = self._convs[layer.name](x)
            elif self.pooling == "max":
                x = F.max_pool2d(x, 2, 2)
            else:
                x = F.avg_pool2d(x, 2, 2)
            if layer.name in self.outputs:
                collected[layer.name] = x.permute(0, 2, 3, 1)
        return [collected[name] for name in self.outputs]


class TorchBackend:
    """PyTorch on one device (CUDA, MPS or the CPU)."""

    name = "torch"

    def __init__(self, device: str = "auto"):
        self.device = pick_device(device)
        self.vectors = TorchVectors(self.device)
        self.ops = TorchOps(self.device, self.vectors.lacks)
        self.tf32 = False  # whether TF32 products were allowed (CUDA, precision tf32)

    # --- graphs -----------------------------------------------------------------------------

    def function(self, fn, signature=None):
        """`fn`, run without recording a graph (its callers want values, not gradients)."""

        def run(*args):
            with torch.no_grad():
                return fn(*args)

        return run

    def value_and_grad(self, fn, signature=None):
        """`fn(image, *rest) -> (total, parts)` returning (total, parts, d total / d image)."""

        def run(image, *rest):
            x = image.detach().requires_grad_(True)
            with torch.enable_grad():
                total, parts = fn(x, *rest)
                (grad,) = torch.autograd.grad(total, x)
            return total.detach(), {name: value.detach() for name, value in parts.items()}, grad

        return run

    def gradient(self, fn, inputs: list):
        xs = [(x.detach().clone() if isinstance(x, torch.Tensor) else self.tensor(x)).requires_grad_(True)
              for x in inputs]
        with torch.enable_grad():
            value = fn(*xs)
            grads = torch.autograd.grad(value, xs, allow_unused=True)
        return value.detach(), [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads)]

    # --- tensors in and out -------------------------------------------------------------------

    def tensor(self, array):
        """A host array or a tensor as a float32 tensor on the device."""
        if isinstance(array, torch.Tensor):
            return array.to(self.device, torch.float32)
        return torch.as_tensor(np.asarray(array, np.float32), device=self.device)

    def vector(self, tensor):
        return tensor.detach()

    def resize(self, x, height: int, width: int, method: str = "bicubic", antialias: bool = False):
        """(1, H, W, C) or (H, W, C) resized (half-pixel centres, as TensorFlow's), as a device tensor."""
        x = self.tensor(x)
        batched = x.dim() == 4
        nchw = (x if batched else x[None]).permute(0, 3, 1, 2)
        out = F.interpolate(nchw, size=(height, width), mode=method, align_corners=False, antialias=antialias)
        out = out.permute(0, 2, 3, 1).contiguous()
        return out if batched else out[0]

    # --- the network and the device -----------------------------------------------------------

    def network(self, backbone: str, layers: dict, outputs: list[str], precision: str, pooling: str):
        return TorchFeatureNetwork(backbone, layers, outputs, precision, pooling, self.device)

    def configure_threads(self, threads: int) -> None:
        if threads > 0 and self.device.type == "cpu":
            torch.set_num_threads(threads)

    def deterministic(self) -> None:
        """Same inputs, same numbers: PyTorch's deterministic kernels (cuDNN's chosen, not benchmarked)."""
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False

    def choose_precision(self, requested: str):
        from .torch_precision import choose

        choice = choose(requested, self.device)
        self.tf32 = choice.precision == "tf32" and self.device.type == "cuda"
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = self.tf32
            torch.backends.cudnn.allow_tf32 = self.tf32
        return choice

    def describe_device(self) -> str:
        if self.device.type == "cuda":
            index = self.device.index if self.device.index is not None else torch.cuda.current_device()
            return f"GPU: {torch.cuda.get_device_name(index)} (PyTorch {torch.__version__})"
        if self.device.type == "mps":
            return f"GPU: Apple MPS (PyTorch {torch.__version__})"
        from ..device import cpu_model

        import os

        return f"CPU: {cpu_model()} ({os.cpu_count()} cores, PyTorch {torch.__version__})"

    def on_gpu(self) -> bool:
        return self.device.type in ("cuda", "mps")

    def optimiser_on_gpu(self) -> bool:
        """The optimiser's arrays (self.vectors) live on the GPU."""
        return self.on_gpu()

    def plan_precision(self, precision: str) -> str:
        """The precision whose bytes per activation plan a run here: float32's, whatever computes.
        The terms take float32 copies of bfloat16 maps (Gram matrices, differences), so bfloat16
        peaked above TensorFlow's bfloat16 bytes on the H200 (4096²: 37.6 GiB against 31.2 planned)
        and below float32's (46.6); docs/gpu.md."""
        return "float32"

    def free_memory(self) -> int | None:
        """Bytes free on the GPU (where the activations live); None on the CPU (the host's: nst.estimate)."""
        if self.device.type == "cuda":
            return int(torch.cuda.mem_get_info(self.device)[0])
        return None

    def peak_memory_mib(self) -> float | None:
        """The GPU memory PyTorch's allocator has held at most in this process, MiB."""
        if self.device.type == "cuda":
            return round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        return None
