"""VGG's convolutional part as plain TensorFlow ops, with a cheaper exact image gradient.

Style transfer differentiates the loss with respect to the *image* only, and every VGG
convolution is 3x3, stride 1, zero-padded "same". For such a convolution the gradient
with respect to its input is again a 3x3 "same" convolution: of the output gradient,
with the kernel rotated by 180° and its input/output channels swapped. TensorFlow's
generic `Conv2DBackpropInput` is measured ~2x slower than a forward convolution in
float32 on this CPU and ~15x slower in bfloat16 (it has no fast bfloat16 kernel without
AVX-512), so each layer here carries a custom gradient that runs the flipped kernel
through the fast forward convolution instead. The result is the same gradient (checked
against TensorFlow's own in tests/test_network.py); no kernel gradient is ever built.

Nothing is pinned to a device: on a GPU the same ops run there.
"""

from __future__ import annotations

import numpy as np

from .backbones import Layer, build, cut_after
from .quiet import tf


class _Conv:
    """One `relu(conv(x, k) + b)` layer whose input gradient is the flipped-kernel convolution."""

    def __init__(self, layer: Layer, kernel: np.ndarray, bias: np.ndarray, dtype: tf.DType):
        kernel = np.asarray(kernel, np.float32)
        flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
        self.name = layer.name
        self.dtype = dtype
        # Variables, not constants: a traced graph then refers to them instead of embedding
        # 80 MB of weights in every trace.
        self.kernel = tf.Variable(tf.cast(kernel, dtype), trainable=False, name=f"{layer.name}_kernel")
        self.flipped = tf.Variable(tf.cast(flipped, dtype), trainable=False, name=f"{layer.name}_flipped")
        self.bias = tf.Variable(tf.cast(np.asarray(bias, np.float32), dtype), trainable=False, name=f"{layer.name}_bias")

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        @tf.custom_gradient
        def conv_relu(x):
            y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, self.kernel, 1, "SAME"), self.bias))

            def grad(dy):
                dy = tf.raw_ops.ReluGrad(gradients=dy, features=y)  # one fused op, not compare + select
                return tf.nn.conv2d(dy, self.flipped, 1, "SAME")

            return y, grad

        return conv_relu(x)


class FeatureNetwork:
    """Maps a (1, H, W, 3) BGR mean-subtracted float32 image to its activations.

    Only the layers up to the deepest of `outputs` exist. With `precision="bfloat16"`
    every layer but the first computes in bfloat16: the first reads raw pixel values
    (±150), which bfloat16 would round to whole units, and is ~1 % of the work. The
    activations are returned in the precision they were computed in; the losses
    (nst.losses) widen them to float32 before they sum, and their gradients come back in
    that precision, so the backward pass stays in bfloat16 without a cast per layer.
    """

    def __init__(
        self,
        backbone: str,
        weights: dict[str, tuple[np.ndarray, np.ndarray]],
        outputs: list[str],
        precision: str = "float32",
        pooling: str = "max",
    ):
        compute = {"float32": tf.float32, "bfloat16": tf.bfloat16}[precision]
        build(self, backbone, weights, outputs, precision, pooling,
              lambda layer, kernel, bias, reads_pixels: _Conv(layer, kernel, bias, tf.float32 if reads_pixels else compute))

    def up_to(self, outputs: list[str]) -> "FeatureNetwork":
        """The same network (the same weights, not copies) cut after the deepest of `outputs`."""
        return cut_after(self, outputs)

    def __call__(self, image: tf.Tensor) -> list[tf.Tensor]:
        x = image
        collected = {}
        for layer in self.layers:
            if layer.kind == "conv":
                conv = self._convs[layer.name]
                x = conv(tf.cast(x, conv.dtype))
            elif self.pooling == "max":
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            else:
                x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
            if layer.name in self.outputs:
                collected[layer.name] = x
        return [collected[name] for name in self.outputs]
