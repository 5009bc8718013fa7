"""The Gatys objective with fixed targets computed once, and its gradient.

The article sent content, style and combination image through VGG as a batch of three at
every evaluation. The content features and style Grams never change during a run, so here
they are computed once per stage and only the combination image goes through the network:
about 2.5x less work per evaluation (DESIGN.md §3).

One `tf.function` serves every stage and size: targets and weights are arguments, not
captured constants, so coarse-to-fine stages and new targets do not retrace the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import losses

LOSS_NAMES = ("total", "content", "style", "tv")


@dataclass(frozen=True)
class Targets:
    content: tuple[tf.Tensor, ...]  # one feature map per content layer
    grams: tuple[tf.Tensor, ...]  # one blended target Gram per style layer
    weights: tf.Tensor  # (content, style per layer, total variation)


@dataclass(frozen=True)
class LossParts:
    total: float
    content: float
    style: float
    tv: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in LOSS_NAMES}

    def finite(self) -> bool:
        return bool(np.isfinite([self.total, self.content, self.style, self.tv]).all())


class StyleObjective:
    """Loss and gradient of a combination image against fixed content and style targets."""

    def __init__(self, network, content_layers, style_layers):
        self.network = network  # nst.network.FeatureNetwork
        self.content_layers = list(content_layers)
        self.style_layers = list(style_layers)
        self.outputs = network.outputs  # the order the network returns its maps in
        image = tf.TensorSpec((1, None, None, 3), tf.float32)
        channels = network.channels
        content_spec = tuple(tf.TensorSpec((1, None, None, channels[n]), tf.float32) for n in self.content_layers)
        gram_spec = tuple(tf.TensorSpec((channels[n], channels[n]), tf.float32) for n in self.style_layers)
        signature = [image, content_spec, gram_spec, tf.TensorSpec((3,), tf.float32)]
        self._value_and_grad = tf.function(self._value_and_grad_graph, input_signature=signature, autograph=False)
        self._value = tf.function(self._loss_graph, input_signature=signature, autograph=False)
        self._features = tf.function(self._features_graph, input_signature=[image], autograph=False)

    # graphs ------------------------------------------------------------------------------

    def _features_graph(self, image):
        return dict(zip(self.outputs, self.network(image)))

    def _loss_graph(self, image, content_targets, gram_targets, weights):
        maps = self._features_graph(image)
        content = tf.add_n(
            [losses.content_loss(maps[n], t) for n, t in zip(self.content_layers, content_targets)]
        ) if self.content_layers else tf.constant(0.0)
        normaliser = losses.style_normaliser(tf.shape(image)[1], tf.shape(image)[2])
        style = tf.add_n(
            [
                losses.style_layer_loss(losses.gram_matrix(maps[n]), g, normaliser)
                for n, g in zip(self.style_layers, gram_targets)
            ]
        ) if self.style_layers else tf.constant(0.0)
        tv = losses.total_variation_loss(image)
        total = weights[0] * content + weights[1] * style + weights[2] * tv
        return tf.stack([total, weights[0] * content, weights[1] * style, weights[2] * tv])

    def _value_and_grad_graph(self, image, content_targets, gram_targets, weights):
        with tf.GradientTape() as tape:
            tape.watch(image)
            parts = self._loss_graph(image, content_targets, gram_targets, weights)
            total = parts[0]  # taken inside the tape, or the slice is not differentiated
        return parts, tape.gradient(total, image)

    # public ------------------------------------------------------------------------------

    def targets(self, content: np.ndarray, styles: list[np.ndarray], blend: list[float], weights) -> Targets:
        """Content feature maps and blended style Grams, from preprocessed (1, H, W, 3) images.

        `weights` is the triple (cw, sw, tvw); as in the article each style layer gets sw / L.

        A style image of another size than the content is accounted for by scaling its
        Gram to the content's number of positions at each layer, so style_scale and
        non-matching aspect ratios change the texture's scale, not the loss's magnitude.
        """
        content_maps = self._features(tf.constant(content, tf.float32))
        grams = [tf.zeros((content_maps[n].shape[-1],) * 2) for n in self.style_layers]
        for style, weight in zip(styles, blend):
            style_maps = self._features(tf.constant(style, tf.float32))
            for i, name in enumerate(self.style_layers):
                positions = float(np.prod(content_maps[name].shape[1:3]))
                style_positions = float(np.prod(style_maps[name].shape[1:3]))
                grams[i] = grams[i] + weight * (positions / style_positions) * losses.gram_matrix(style_maps[name])
        cw, sw, tvw = weights
        loss_weights = tf.constant([cw, sw / max(1, len(self.style_layers)), tvw], tf.float32)
        return Targets(tuple(content_maps[n] for n in self.content_layers), tuple(grams), loss_weights)

    def value_and_grad(self, image: np.ndarray, targets: Targets) -> tuple[LossParts, np.ndarray]:
        parts, grad = self._value_and_grad(
            tf.constant(image, tf.float32), targets.content, targets.grams, targets.weights
        )
        return LossParts(*(float(v) for v in parts.numpy())), grad.numpy()

    def value(self, image: np.ndarray, targets: Targets) -> LossParts:
        parts = self._value(tf.constant(image, tf.float32), targets.content, targets.grams, targets.weights)
        return LossParts(*(float(v) for v in parts.numpy()))
