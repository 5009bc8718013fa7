"""The objective: named loss terms with fixed targets computed once per stage, and its gradient.

The article sent content, style and combination image through VGG as a batch of three at
every evaluation. The content features and style Grams never change during a stage, so
here they are computed once and only the combination image goes through the network:
about 2.5x less work per evaluation (measured, docs/performance.md).

One compiled graph serves every stage and size (on TensorFlow, one `tf.function`): targets and
weights are arguments, not captured constants, so coarse-to-fine stages and new weights do not
retrace it. Everything here is written once against the backend (nst/backends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .loss_values import Losses
from .terms import Features, Term


@dataclass
class StageTargets:
    """What stays fixed during a stage: each term's (weight, targets), the content's maps
    at every layer a term compares position by position (`Term.content_layers`), and each
    term's guides (`Term.guide_arrays`)."""

    terms: dict  # term name -> (weight, that term's target tensors)
    content_maps: dict  # layer -> the content image's maps, float32
    guides: dict  # term name -> {layer: (1, h, w, K) float32}


def content_layers(terms: list[Term]) -> list[str]:
    return list(dict.fromkeys(layer for term in terms for layer in term.content_layers()))


def term_guides(terms: list[Term], stage_guides: dict | None, downsample: dict) -> dict:
    """Every term's guides for a stage (numpy, at each layer's resolution), from the stage's own."""
    return {term.name: term.guide_arrays(stage_guides or {}, downsample) for term in terms}


def guide_specs(terms: list[Term]) -> dict:
    return {term.name: term.guide_specs() for term in terms}


def term_targets(terms: list[Term], content: Features, styles: list[tuple[object, dict, dict]],
                 blend: list[float], weights: dict, downsample: dict) -> dict:
    """Every term's (weight, targets) from the content's Features and each style's (image,
    maps, sums by term name): shared by the whole and the tiled objective, which differ only in
    how they obtain maps and sums."""
    found = {}
    for term in terms:
        style_features = [(Features(image, maps, sums.get(term.name, ()), downsample), share)
                          for (image, maps, sums), share in zip(styles, blend)]
        found[term.name] = (term.ops.constant(term.weight(weights[term.name])),
                            tuple(term.targets(content, style_features)))
    return found


class Objective:
    """Loss and gradient of a combination image against fixed targets, term by term."""

    def __init__(self, backend, network, terms: list[Term]):
        self.backend = backend  # nst.backends: TensorFlow's or PyTorch's
        self.network = network  # the backend's FeatureNetwork
        self.terms = list(terms)
        self.names = [term.name for term in self.terms]
        self.downsample = {layer.name: layer.downsample for layer in network.layers}
        self.content_layers = content_layers(self.terms)
        image = backend.ops.spec((1, None, None, 3))
        signature = [image, self.target_specs(self.terms), self.content_specs(), guide_specs(self.terms)]
        self._value_and_grad = backend.value_and_grad(self._loss_graph, signature)
        self._value = backend.function(self._loss_graph, signature)
        self._features = backend.function(self._features_graph, [image])
        self._image_graphs: dict = {}

    def target_specs(self, terms: list[Term]) -> dict:
        ops = self.backend.ops
        return {term.name: (ops.spec(()), term.target_specs(self.network.channels)) for term in terms}

    def content_specs(self) -> dict:
        return {n: self.backend.ops.spec((1, None, None, self.network.channels[n])) for n in self.content_layers}

    # graphs ------------------------------------------------------------------------------

    def _features_graph(self, image):
        return dict(zip(self.network.outputs, self.network(image)))

    def _loss_graph(self, image, targets, content_maps, guides):
        maps = self._features_graph(image)
        weighted = {}
        for term in self.terms:
            weight, term_targets = targets[term.name]
            weighted[term.name] = weight * term.loss(image, maps, term_targets, content_maps, guides[term.name])
        total = None
        for value in weighted.values():
            total = value if total is None else total + value
        return total, weighted

    # public ------------------------------------------------------------------------------

    def targets(self, content: np.ndarray, styles: list[np.ndarray], blend: list[float], weights: dict,
                guides: dict | None = None) -> StageTargets:
        """Every term's fixed targets, from preprocessed (1, H, W, 3) content and style images.

        `weights` maps each term's name to its setting (cw, sw, tvw, …); a term turns it into
        the factor it is multiplied by (the style term divides by its number of layers).
        `guides`: the stage's named (H, W, K) per-position inputs (`StageImages.guides`).
        """
        backend, ops = self.backend, self.backend.ops
        content_image = backend.tensor(content)
        content_maps = self._features(content_image)
        style_inputs = []
        for style in styles:
            style_image = backend.tensor(style)
            maps = self._features(style_image)
            style_inputs.append((style_image, maps, {t.name: tuple(t.image_sums(maps)) for t in self.terms}))
        found = term_targets(self.terms, Features(content_image, content_maps, (), self.downsample), style_inputs,
                             blend, weights, self.downsample)
        return StageTargets(found, {n: ops.float32_of(content_maps[n]) for n in self.content_layers},
                            self._tensors(term_guides(self.terms, guides, self.downsample)))

    def value_and_grad(self, image, targets: StageTargets) -> tuple[Losses, object]:
        """The losses and the gradient of an image (the optimiser's array: NumPy, or a device tensor)."""
        total, weighted, grad = self._value_and_grad(self.backend.tensor(image), targets.terms,
                                                     targets.content_maps, targets.guides)
        return self._losses(total, weighted), self.backend.vector(grad)

    def value(self, image, targets: StageTargets) -> Losses:
        return self._losses(*self._value(self.backend.tensor(image), targets.terms, targets.content_maps,
                                         targets.guides))

    # --- terms that read no feature maps, on a whole image (what tiling leaves untiled) -------

    def value_and_grad_of(self, terms: list[Term], image, targets: dict, guides: dict) -> tuple[dict, object]:
        """The weighted losses of image-only `terms` and their gradient, without the network."""
        key = tuple(t.name for t in terms)
        if key not in self._image_graphs:

            def graph(x, term_targets, term_guides):
                weighted = {t.name: term_targets[t.name][0] * t.loss(x, {}, term_targets[t.name][1], {},
                                                                     term_guides[t.name])
                            for t in terms}
                return self.backend.ops.add_n(list(weighted.values())), weighted

            self._image_graphs[key] = self.backend.value_and_grad(
                graph, [self.backend.ops.spec((1, None, None, 3)), self.target_specs(terms), guide_specs(terms)])
        _, weighted, grad = self._image_graphs[key](self.backend.tensor(image), targets,
                                                    {t.name: guides[t.name] for t in terms})
        return {name: self.backend.ops.to_float(value) for name, value in weighted.items()}, self.backend.vector(grad)

    def _losses(self, total, weighted) -> Losses:
        total, *parts = self.backend.ops.to_floats([total, *(weighted[name] for name in self.names)])
        return Losses(total, dict(zip(self.names, parts)))

    def _tensors(self, guides: dict) -> dict:
        return {name: {layer: self.backend.tensor(array) for layer, array in found.items()}
                for name, found in guides.items()}
