"""VGG16/VGG19 feature extractors, cut at the deepest layer a loss reads.

The networks are the convolutional parts of Simonyan & Zisserman's VGG in Keras's
layer naming (`block{b}_conv{c}`, `block{b}_pool`), fed BGR mean-subtracted images of
any size. Only the layers up to the deepest content or style layer are built: at 512²
the layers after `block5_conv3` would cost time and memory for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_CHANNELS = (64, 128, 256, 512, 512)
LAYER_PATTERN = re.compile(r"^block([1-5])_(conv([1-4])|pool)$")


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # "conv" or "pool"
    in_channels: int
    out_channels: int
    downsample: int  # total stride of this layer's output relative to the input


def architecture(backbone: str) -> list[Layer]:
    """Every layer of the backbone's convolutional part, in order."""
    layers: list[Layer] = []
    channels, stride = 3, 1
    for block, (convs, width) in enumerate(zip(CONVS_PER_BLOCK[backbone], BLOCK_CHANNELS), start=1):
        for conv in range(1, convs + 1):
            layers.append(Layer(f"block{block}_conv{conv}", "conv", channels, width, stride))
            channels = width
        stride *= 2
        layers.append(Layer(f"block{block}_pool", "pool", channels, channels, stride))
    return layers


def conv_layer_names(backbone: str) -> list[str]:
    return [layer.name for layer in architecture(backbone) if layer.kind == "conv"]


def layers_up_to(backbone: str, deepest: set[str] | list[str]) -> list[Layer]:
    """The prefix of the architecture that ends at the deepest of the named layers."""
    names = [layer.name for layer in architecture(backbone)]
    unknown = [n for n in deepest if n not in names]
    if unknown:
        raise KeyError(unknown[0])
    last = max(names.index(n) for n in deepest)
    return architecture(backbone)[: last + 1]


def deepest_layer(backbone: str, layer_names: list[str]) -> str:
    return layers_up_to(backbone, layer_names)[-1].name


def minimum_side(backbone: str, layer_names: list[str]) -> int:
    """The smallest image side for which every named layer still has one pixel."""
    return max(layer.downsample for layer in layers_up_to(backbone, layer_names) if layer.name in layer_names)


def expected_shapes(backbone: str) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Kernel (3, 3, in, out) and bias (out,) shapes of every conv layer, Keras layout."""
    return {
        layer.name: ((3, 3, layer.in_channels, layer.out_channels), (layer.out_channels,))
        for layer in architecture(backbone)
        if layer.kind == "conv"
    }


def keras_extractor(
    backbone: str,
    weights: dict[str, tuple[np.ndarray, np.ndarray]],
    outputs: list[str],
    dtype_policy: str = "float32",
    pooling: str = "max",
):
    """A Keras model mapping a (1, H, W, 3) BGR image to the activations named in `outputs`.

    This is the network built the article's way, from Keras layers. Transfers use
    `nst.network.FeatureNetwork` (same maps, cheaper gradient); this one is the
    reference that tests/test_network.py and the article's formulation in
    benchmarks/ compare against.

    `dtype_policy` is a Keras policy name: "mixed_bfloat16" computes in bfloat16 with
    float32 variables; the outputs are cast back to float32 so losses sum in float32.
    """
    import keras

    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = inputs
    collected = {}
    for layer in layers_up_to(backbone, outputs):
        if layer.kind == "conv":
            kernel, bias = weights[layer.name]
            # The first conv reads raw pixels (±150): bfloat16 would round them to whole units, so it
            # stays float32; it is 1 % of the work.
            conv = keras.layers.Conv2D(
                layer.out_channels,
                3,
                padding="same",
                activation="relu",
                name=layer.name,
                dtype="float32" if layer.in_channels == 3 else dtype_policy,
            )
            x = conv(x)
            conv.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
        else:
            pool_cls = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
            x = pool_cls(2, strides=2, name=layer.name, dtype=dtype_policy)(x)
        if layer.name in outputs:
            collected[layer.name] = keras.ops.cast(x, "float32")
    model = keras.Model(inputs, [collected[name] for name in outputs], name=f"{backbone}_features")
    model.trainable = False
    return model
