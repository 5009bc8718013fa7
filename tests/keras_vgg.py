"""VGG built the article's way, from Keras layers: the reference our plain-TF network is checked against.

Transfers use `nst.network.FeatureNetwork` (same maps, cheaper gradient). This one is
only an oracle: tests/test_network.py compares the two, and benchmarks/ times the
article's own formulation with it.
"""

from __future__ import annotations

import numpy as np

from nst.backbones import layers_up_to


def keras_extractor(
    backbone: str,
    weights: dict[str, tuple[np.ndarray, np.ndarray]],
    outputs: list[str],
    dtype_policy: str = "float32",
    pooling: str = "max",
):
    """A Keras model mapping a (1, H, W, 3) BGR image to the activations named in `outputs`.

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
