"""VGG16/VGG19 feature extractors, cut at the deepest layer a loss reads.

The networks are the convolutional parts of Simonyan & Zisserman's VGG in Keras's
layer naming (`block{b}_conv{c}`, `block{b}_pool`), fed BGR mean-subtracted images of
any size. Only the layers up to the deepest content or style layer are built: at 512²
the layers after `block5_conv3` would cost time and memory for nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import SettingsError

CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
BLOCK_CHANNELS = (64, 128, 256, 512, 512)


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


def check_layers(backbone: str, layers_by_term: dict[str, list[str]]) -> None:
    """Refuse a layer name the backbone does not have, naming the option that asked for it."""
    names = {layer.name for layer in architecture(backbone)}
    options = {"content": "content_layers", "style": "style_layers"}
    for term, layers in layers_by_term.items():
        for name in layers:
            if name not in names:
                raise SettingsError(
                    options.get(term, "terms"),
                    f"{backbone} has no layer {name!r}; its layers are named "
                    f"block1_conv1 … {conv_layer_names(backbone)[-1]} and block1_pool … block5_pool",
                )


def layers_up_to(backbone: str, deepest: set[str] | list[str]) -> list[Layer]:
    """The prefix of the architecture that ends at the deepest of the named layers."""
    names = [layer.name for layer in architecture(backbone)]
    unknown = [n for n in deepest if n not in names]
    if unknown:
        raise KeyError(unknown[0])
    last = max(names.index(n) for n in deepest)
    return architecture(backbone)[: last + 1]


def build(network, backbone: str, weights: dict, outputs: list[str], precision: str, pooling: str, conv) -> None:
    """Either library's feature network made: the layers up to the deepest of `outputs`, each
    convolution `conv(layer, kernel, bias, reads_pixels)` of its (Keras-layout) weights; the first
    reads the image's raw pixel values, which bfloat16 would round to whole units."""
    network.backbone, network.precision, network.pooling = backbone, precision, pooling
    network.outputs = list(outputs)
    network.layers = layers_up_to(backbone, network.outputs)
    network.channels = {layer.name: layer.out_channels for layer in network.layers}
    network._convs = {layer.name: conv(layer, *weights[layer.name], layer.in_channels == 3)
                      for layer in network.layers if layer.kind == "conv"}


def cut_after(network, outputs: list[str]):
    """Either library's feature network, the same (the same weights, not copies) cut after the deepest of
    `outputs`: its backbone, precision and pooling kept, its layers, channels and convolutions the prefix's."""
    cut = object.__new__(type(network))
    cut.backbone, cut.precision, cut.pooling = network.backbone, network.precision, network.pooling
    cut.outputs = list(outputs)
    cut.layers = layers_up_to(network.backbone, cut.outputs)
    cut.channels = {layer.name: layer.out_channels for layer in cut.layers}
    cut._convs = {name: conv for name, conv in network._convs.items() if name in cut.channels}
    return cut


# Tiling needs these and so does the memory plan, which the workflow runs while it parses: kept
# here, beside the layers they are computed from, so planning never imports TensorFlow.
ALIGN = 16  # 2^(pooling layers before block5): tiles start where pooling windows start


def receptive_radius(backbone: str, layers: list[str]) -> int:
    """Pixels beyond which the input cannot change the named layers' features (3x3 convs, 2x2 pools)."""
    radius, stride = 0, 1
    for layer in layers_up_to(backbone, layers):
        radius += stride  # a 3x3 convolution reaches one position further; a 2x2 pool one more too
        if layer.kind == "pool":
            stride *= 2
    return radius


def halo_for(backbone: str, layers: list[str]) -> int:
    """The halo a tile carries: the receptive radius rounded up to a multiple of ALIGN."""
    return ALIGN * math.ceil(receptive_radius(backbone, layers) / ALIGN)


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

