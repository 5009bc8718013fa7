"""The objective: named loss terms with fixed targets computed once per stage, and its gradient.

The article sent content, style and combination image through VGG as a batch of three at
every evaluation. The content features and style Grams never change during a stage, so
here they are computed once and only the combination image goes through the network:
about 2.5x less work per evaluation (DESIGN.md §3).

One `tf.function` serves every stage and size: targets and weights are arguments, not
captured constants, so coarse-to-fine stages and new weights do not retrace the graph.
"""

from __future__ import annotations

import numpy as np

from .loss_values import Losses
from .quiet import tf
from .terms import Features, Term

Targets = dict  # term name -> (weight, that term's target tensors); the graph's second argument


class Objective:
    """Loss and gradient of a combination image against fixed targets, term by term."""

    def __init__(self, network, terms: list[Term]):
        self.network = network  # nst.network.FeatureNetwork
        self.terms = list(terms)
        self.names = [term.name for term in self.terms]
        image = tf.TensorSpec((1, None, None, 3), tf.float32)
        targets = {
            term.name: (tf.TensorSpec((), tf.float32), term.target_specs(network.channels)) for term in self.terms
        }
        signature = [image, targets]
        self._value_and_grad = tf.function(self._value_and_grad_graph, input_signature=signature, autograph=False)
        self._value = tf.function(self._loss_graph, input_signature=signature, autograph=False)
        self._features = tf.function(self._features_graph, input_signature=[image], autograph=False)
        self._image_graphs: dict = {}

    # graphs ------------------------------------------------------------------------------

    def _features_graph(self, image):
        return dict(zip(self.network.outputs, self.network(image)))

    def _loss_graph(self, image, targets):
        maps = self._features_graph(image)
        weighted = {}
        for term in self.terms:
            weight, term_targets = targets[term.name]
            weighted[term.name] = weight * term.loss(image, maps, term_targets)
        total = None
        for value in weighted.values():
            total = value if total is None else total + value
        return total, weighted

    def _value_and_grad_graph(self, image, targets):
        with tf.GradientTape() as tape:
            tape.watch(image)
            total, weighted = self._loss_graph(image, targets)
        return total, weighted, tape.gradient(total, image)

    # public ------------------------------------------------------------------------------

    def targets(self, content: np.ndarray, styles: list[np.ndarray], blend: list[float], weights: dict) -> Targets:
        """Every term's fixed targets, from preprocessed (1, H, W, 3) content and style images.

        `weights` maps each term's name to its setting (cw, sw, tvw, …); a term turns it into
        the factor it is multiplied by (the style term divides by its number of layers).
        """
        content_image = tf.constant(content, tf.float32)
        content_features = Features(content_image, self._features(content_image))
        style_features = []
        for style, share in zip(styles, blend):
            style_image = tf.constant(style, tf.float32)
            style_features.append((Features(style_image, self._features(style_image)), share))
        return {
            term.name: (
                tf.constant(term.weight(weights[term.name]), tf.float32),
                tuple(term.targets(content_features, style_features)),
            )
            for term in self.terms
        }

    def value_and_grad(self, image: np.ndarray, targets: Targets) -> tuple[Losses, np.ndarray]:
        total, weighted, grad = self._value_and_grad(tf.constant(image, tf.float32), targets)
        return self._losses(total, weighted), grad.numpy()

    def value(self, image: np.ndarray, targets: Targets) -> Losses:
        return self._losses(*self._value(tf.constant(image, tf.float32), targets))

    # --- terms that read no feature maps, on a whole image (what tiling leaves untiled) -------

    def targets_for(self, terms: list[Term], content, styles, blend, weights) -> Targets:
        """Targets of terms that read only the image: their inputs without any feature maps."""
        content_features = Features(tf.constant(content, tf.float32), {})
        style_features = [(Features(tf.constant(s, tf.float32), {}), share) for s, share in zip(styles, blend)]
        return {
            term.name: (tf.constant(term.weight(weights[term.name]), tf.float32),
                        tuple(term.targets(content_features, style_features)))
            for term in terms
        }

    def value_and_grad_of(self, terms: list[Term], image: np.ndarray, targets: Targets) -> tuple[dict, np.ndarray]:
        """The weighted losses of image-only `terms` and their gradient, without the network."""
        key = tuple(t.name for t in terms)
        if key not in self._image_graphs:
            specs = {t.name: (tf.TensorSpec((), tf.float32), t.target_specs(self.network.channels)) for t in terms}

            def graph(x, term_targets):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    weighted = {t.name: term_targets[t.name][0] * t.loss(x, {}, term_targets[t.name][1]) for t in terms}
                    total = tf.add_n(list(weighted.values()))
                return weighted, tape.gradient(total, x)

            self._image_graphs[key] = tf.function(
                graph, input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32), specs], autograph=False)
        weighted, grad = self._image_graphs[key](tf.constant(image, tf.float32), targets)
        return {name: float(value.numpy()) for name, value in weighted.items()}, grad.numpy()

    def _losses(self, total, weighted) -> Losses:
        return Losses(float(total.numpy()), {name: float(weighted[name].numpy()) for name in self.names})
