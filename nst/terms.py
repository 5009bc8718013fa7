"""Named loss terms: content, style and total variation, and any term a plugin registers.

A term turns the image (and the feature maps of the layers it reads) into one unweighted
scalar; the objective multiplies each by its weight and sums them in order. Everything
downstream takes its names from here: the history's `<name>_loss` columns, summary.csv,
the log lines and the loss plots. So a new term is one class in one module, a `Term`
subclass decorated with `register_term` (tests/plugins/mean_colour_term.py is a whole one),
used with `nst transfer … --plugins my_module --terms mean_colour=100` (in the workflow
`nst: {plugins: [my_module], terms: {mean_colour: 100}}`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import losses
from .errors import SettingsError
from .quiet import tf


@dataclass(frozen=True)
class Features:
    """One input image (preprocessed, (1, H, W, 3)) and its feature maps by layer name.

    Maps are in the network's compute precision (bfloat16 where that was chosen): widen
    them with `tf.cast(m, tf.float32)` before summing, as nst.losses does.
    """

    image: tf.Tensor
    maps: dict[str, tf.Tensor]


class Term:
    """One weighted part of the objective. Subclasses set `name` and define `loss`."""

    name: ClassVar[str]

    def __init__(self, settings):
        self.settings = settings  # nst.settings.TransferSettings: what the term may read (layers, …)

    def layers(self) -> list[str]:
        """The feature maps `loss` reads."""
        return []

    def weight(self, weight: float) -> float:
        """The factor the unweighted loss is multiplied by, given the term's setting."""
        return weight

    def target_specs(self, channels: dict[str, int]) -> tuple[tf.TensorSpec, ...]:
        """Shapes of `targets`' tensors, so one traced graph serves every stage and size."""
        return ()

    def targets(self, content: Features, styles: list[tuple[Features, float]]) -> tuple[tf.Tensor, ...]:
        """What stays fixed during a stage, from the content and the (style, blend weight) pairs."""
        return ()

    def loss(self, image: tf.Tensor, maps: dict[str, tf.Tensor], targets: tuple[tf.Tensor, ...]) -> tf.Tensor:
        raise NotImplementedError


_REGISTRY: dict[str, type[Term]] = {}


def register_term(cls: type[Term]) -> type[Term]:
    """Make a term available by its name (a class decorator)."""
    if not getattr(cls, "name", "").isidentifier():
        raise ValueError(f"{cls.__name__}.name must be a Python identifier, got {getattr(cls, 'name', None)!r}")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> list[str]:
    return list(_REGISTRY)


def build_terms(settings) -> list[Term]:
    """The terms `settings` ask for, in summing order: content, style, tv, then the extra ones."""
    for module in settings.plugins:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise SettingsError("plugins", f"cannot import {module!r} ({exc}); is it on PYTHONPATH?") from None
    terms = []
    for name in settings.weights_by_term():
        if name not in _REGISTRY:
            raise SettingsError(
                "terms", f"no loss term named {name!r}; known: {', '.join(_REGISTRY)} (a plugin module registers more)"
            )
        terms.append(_REGISTRY[name](settings))
    return terms


@register_term
class ContentTerm(Term):
    """``sum((F - P)^2)`` between the image's and the content's maps, summed over content layers."""

    name = "content"

    def layers(self):
        return list(self.settings.content_layers)

    def target_specs(self, channels):
        return tuple(tf.TensorSpec((1, None, None, channels[n]), tf.float32) for n in self.layers())

    def targets(self, content, styles):
        return tuple(tf.cast(content.maps[n], tf.float32) for n in self.layers())

    def loss(self, image, maps, targets):
        if not targets:
            return tf.constant(0.0)
        return tf.add_n([losses.content_loss(maps[n], t) for n, t in zip(self.layers(), targets)])


@register_term
class StyleTerm(Term):
    """The article's Gram-matrix loss summed over style layers, each layer weighted sw / L.

    A style image of another size than the content is accounted for by scaling its Gram
    to the content's number of positions at each layer, so style_scale and non-matching
    aspect ratios change the texture's scale, not the loss's magnitude.
    """

    name = "style"

    def layers(self):
        return list(self.settings.style_layers)

    def weight(self, weight):
        return weight / max(1, len(self.layers()))

    def target_specs(self, channels):
        return tuple(tf.TensorSpec((channels[n], channels[n]), tf.float32) for n in self.layers())

    def targets(self, content, styles):
        grams = [tf.zeros((content.maps[n].shape[-1],) * 2) for n in self.layers()]
        for style, blend in styles:
            for i, name in enumerate(self.layers()):
                positions = float(np.prod(content.maps[name].shape[1:3]))
                style_positions = float(np.prod(style.maps[name].shape[1:3]))
                grams[i] = grams[i] + blend * (positions / style_positions) * losses.gram_matrix(style.maps[name])
        return tuple(grams)

    def loss(self, image, maps, targets):
        if not targets:
            return tf.constant(0.0)
        normaliser = losses.style_normaliser(tf.shape(image)[1], tf.shape(image)[2])
        return tf.add_n(
            [
                losses.style_layer_loss(losses.gram_matrix(maps[n]), g, normaliser)
                for n, g in zip(self.layers(), targets)
            ]
        )


@register_term
class TotalVariationTerm(Term):
    """The article's ``sum((a + b)^1.25)`` smoothness term on the image itself."""

    name = "tv"

    def loss(self, image, maps, targets):
        return losses.total_variation_loss(image)
