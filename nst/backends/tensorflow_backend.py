"""TensorFlow below the boundary (nst/backends/__init__.py): graphs traced once as `tf.function`s,
the image gradient from a `GradientTape`, VGG in plain TensorFlow ops (nst/network.py), and the
optimiser's arrays on the host as NumPy (TensorFlow's CPU tensors and NumPy share memory cheaply).

On a GPU TensorFlow places the same graphs there by itself; the optimiser's arrays then still
cross to the host at each evaluation. That path is not tested by this project (no TensorFlow on
the GPU machine it can use); the PyTorch backend keeps everything on the device.
"""

from __future__ import annotations

import numpy as np

from ..quiet import tf
from .vectors import NumpyVectors


class TensorFlowOps:
    """The array functions a term's maths is written with, on TensorFlow tensors."""

    name = "tensorflow"

    @property
    def float32(self):
        return tf.float32

    def spec(self, shape: tuple, dtype=None):
        """A tensor's shape for a traced graph's signature (None: any length)."""
        return tf.TensorSpec(shape, dtype or tf.float32)

    def constant(self, value, like=None):
        return tf.constant(value, tf.float32)

    def zeros_like(self, x):
        return tf.zeros(x.shape, x.dtype)

    def float32_of(self, x):
        return tf.cast(x, tf.float32)

    def cast_like(self, x, like):
        return tf.cast(x, like.dtype)

    def scalar(self, value):
        """A whole number (a dimension) as a float32 scalar."""
        return tf.cast(value, tf.float32)

    def size(self, x, axis: int):
        """The length of `x` along `axis`, as a float32 scalar."""
        return tf.cast(tf.shape(x)[axis], tf.float32)

    def dim(self, x, axis: int):
        """The length of `x` along `axis` as the graph knows it (a scalar tensor while tracing)."""
        return tf.shape(x)[axis]

    def sum(self, x, axis=None):
        return tf.reduce_sum(x, axis)

    def mean(self, x, axis=None):
        """Accumulated in float64: TensorFlow's float32 mean over an image's positions is off by ~1e-6 of
        its magnitude (PyTorch's sums pairwise), which a difference of means turns into 1e-4."""
        return tf.cast(tf.reduce_mean(tf.cast(x, tf.float64), axis), x.dtype)

    def square(self, x):
        return tf.square(x)

    def sqrt(self, x):
        return tf.sqrt(x)

    def abs(self, x):
        return tf.abs(x)

    def reshape(self, x, shape):
        return tf.reshape(x, shape)

    def reshape_like(self, x, like):
        return tf.reshape(x, tf.shape(like))

    def matmul(self, a, b, transpose_a: bool = False):
        return tf.matmul(a, b, transpose_a=transpose_a)

    def transpose(self, x):
        return tf.transpose(x)

    def stack(self, values, axis: int = 0):
        return tf.stack(values, axis)

    def concat(self, values, axis: int):
        return tf.concat(values, axis)

    def add_n(self, values):
        return tf.add_n(list(values))

    def pad(self, x, paddings):
        """Zeros before and after each axis: ((before, after), …) for every axis."""
        return tf.pad(x, paddings)

    def divide_no_nan(self, a, b):
        return tf.math.divide_no_nan(a, b)

    def roll(self, x, shift: int, axis: int):
        return tf.roll(x, shift=shift, axis=axis)

    def stop_gradient(self, x):
        return tf.stop_gradient(x)

    def custom_gradient(self, forward):
        """`forward(x) -> (y, gradient)`, `gradient(dy) -> dx`: y with that gradient."""
        return tf.custom_gradient(forward)

    def to_float(self, x) -> float:
        return float(x.numpy()) if hasattr(x, "numpy") else float(x)

    def to_floats(self, values: list) -> list[float]:
        return [self.to_float(v) for v in values]

    def indices(self, rows: list[list[int]]):
        """Integer boxes a traced graph reads (a tensor, so one trace serves every tile)."""
        return tf.constant(rows, tf.int32) if rows else tf.zeros((0, 4), tf.int32)


class TensorFlowBackend:
    """TensorFlow: where it runs is TensorFlow's choice (a GPU where it sees one), or the CPU when asked."""

    name = "tensorflow"

    def __init__(self, device: str = "auto"):
        from ..errors import SettingsError

        if device not in ("auto", "cpu", "cuda", "gpu"):
            raise SettingsError("device", f"the TensorFlow backend runs on auto, cpu or cuda, not {device!r}")
        if device == "cpu":
            try:
                tf.config.set_visible_devices([], "GPU")
            except RuntimeError:  # TensorFlow already started in this process: its devices stay
                pass
        self.device = device
        self.ops = TensorFlowOps()
        self.vectors = NumpyVectors()

    # --- graphs -----------------------------------------------------------------------------

    def function(self, fn, signature=None):
        """`fn` traced once per signature (with none, retraced as shapes change, reusing where it can)."""
        if signature is None:
            return tf.function(fn, autograph=False, reduce_retracing=True)
        return tf.function(fn, input_signature=signature, autograph=False)

    def value_and_grad(self, fn, signature=None):
        """`fn(image, *rest) -> (total, parts)` as one traced graph returning (total, parts, d total / d image)."""

        def graph(image, *rest):
            with tf.GradientTape() as tape:
                tape.watch(image)
                total, parts = fn(image, *rest)
            return total, parts, tape.gradient(total, image)

        return self.function(graph, signature)

    def gradient(self, fn, inputs: list):
        """`fn(*inputs)` and its gradient with respect to each input, eagerly (a few small tensors)."""
        inputs = [tf.constant(x) for x in inputs]
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = fn(*inputs)
        return value, tape.gradient(value, inputs)

    # --- tensors in and out -------------------------------------------------------------------

    def tensor(self, array):
        """A host array (or the optimiser's vector) as the library's float32 tensor."""
        return tf.constant(array, tf.float32)

    def vector(self, tensor) -> np.ndarray:
        """A tensor as the optimiser's array (NumPy here)."""
        return tensor.numpy()

    def resize(self, x, height: int, width: int, method: str = "bicubic", antialias: bool = False):
        """(1, H, W, C) or (H, W, C) resized, as the optimiser's array."""
        return tf.image.resize(x, (height, width), method=method, antialias=antialias).numpy().astype(np.float32)

    # --- the network and the device -----------------------------------------------------------

    def network(self, backbone: str, layers: dict, outputs: list[str], precision: str, pooling: str):
        from ..network import FeatureNetwork

        return FeatureNetwork(backbone, layers, outputs, precision, pooling)

    def configure_threads(self, threads: int) -> None:
        from ..device import configure_threads

        configure_threads(threads)

    def deterministic(self) -> None:
        """Same inputs, same numbers: TensorFlow's deterministic kernels."""
        tf.config.experimental.enable_op_determinism()

    def choose_precision(self, requested: str):
        from ..precision import choose

        return choose(requested)

    def describe_device(self) -> str:
        from ..device import describe_device

        return describe_device()

    def on_gpu(self) -> bool:
        from ..device import gpus

        return bool(gpus()) and self.device != "cpu"

    def optimiser_on_gpu(self) -> bool:
        """The optimiser's arrays are NumPy on the host here, GPU or not."""
        return False

    def plan_precision(self, precision: str) -> str:
        """The precision whose bytes per activation plan a run: the one computing (measured on TensorFlow)."""
        return precision

    def free_memory(self) -> int | None:
        """Bytes free where the activations live: None for the host's (nst.estimate reads those)."""
        return None

    def peak_memory_mib(self) -> float | None:
        return None
