"""The objective evaluated tile by tile: the same loss and gradient in bounded memory.

At print sizes one evaluation's activations no longer fit (VGG19 to block5_conv3 keeps
~1.2 GB of them per 512² image, so ~77 GB at 4096²). Tiling is exact here, not an
approximation, because every term is a sum over positions:

* content loss and each layer's Gram matrix are sums over feature positions, so each tile
  adds its *core* (the positions it owns) and the totals are those of the whole image;
* the style gradient at a position needs only that position's features and the global
  (G - A), so once pass 1 has summed the Grams, pass 2 runs each tile again and
  back-propagates a surrogate whose gradient at the tile's core is the true one;
* a core's features are exactly the whole image's when the tile carries a halo as wide as
  the network's receptive-field radius (116 px for VGG up to block5_conv3; 128 is used)
  and every tile starts on a multiple of 16, so its pooling windows are the image's.

The input gradients of overlapping halos are added: each feature position belongs to one
core, and its whole gradient flows back through its own tile. Terms that read no feature
maps (total variation, a plugin's image term) are evaluated on the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backbones import ALIGN, halo_for
from .errors import SettingsError
from .loss_values import Losses
from .quiet import tf


@dataclass(frozen=True)
class Span:
    """One tile along one axis: the core it owns and the haloed range it computes, in pixels."""

    core: tuple[int, int]
    halo: tuple[int, int]


def spans(length: int, tile: int, halo: int) -> list[Span]:
    """Cores of `tile` pixels (the last one shorter) with halos clipped to the image."""
    if tile % ALIGN or halo % ALIGN:
        raise SettingsError("tile", f"tiles and halos must be multiples of {ALIGN} px, got {tile} and {halo}")
    return [Span((start, min(start + tile, length)), (max(0, start - halo), min(length, start + tile + halo)))
            for start in range(0, length, tile)]


@dataclass(frozen=True)
class Tile:
    rows: Span
    columns: Span

    def box(self, downsample: int, height: int, width: int) -> list[int]:
        """[top, bottom, left, right] of the core in the haloed tile's feature map at a layer
        `downsample` times smaller than the image."""
        return [(self.rows.core[0] - self.rows.halo[0]) // downsample,
                _core_end(self.rows.core[1], height, downsample) - self.rows.halo[0] // downsample,
                (self.columns.core[0] - self.columns.halo[0]) // downsample,
                _core_end(self.columns.core[1], width, downsample) - self.columns.halo[0] // downsample]

    def crop(self, maps: tf.Tensor, downsample: int, height: int, width: int) -> tf.Tensor:
        """The core of a haloed tile's feature map at a layer `downsample` times smaller than the image."""
        top, bottom, left, right = self.box(downsample, height, width)
        return maps[:, top:bottom, left:right, :]


def _core_end(end: int, length: int, downsample: int) -> int:
    """Where a core ends at a downsampled layer: the image's own floor at its last tile."""
    return length // downsample if end == length else end // downsample


def tiles(height: int, width: int, tile: int, halo: int) -> list[Tile]:
    return [Tile(r, c) for r in spans(height, tile, halo) for c in spans(width, tile, halo)]


@dataclass
class TiledTargets:
    content: np.ndarray  # the preprocessed content image: each tile's content features come from it
    grams: list[tf.Tensor]  # the blended style Gram per style layer, of the whole style images
    weights: dict[str, float]  # every term's factor (style already divided by its layer count)
    image_terms: dict  # the untiled objective's targets of the terms evaluated on the whole image


class TiledObjective:
    """`Objective`'s loss and gradient computed tile by tile (see the module docstring)."""

    def __init__(self, objective, tile: int):
        self.objective = objective
        self.network = objective.network
        self.tile = tile
        names = [t.name for t in objective.terms]
        self.content_term = objective.terms[names.index("content")] if "content" in names else None
        self.style_term = objective.terms[names.index("style")] if "style" in names else None
        self.image_terms = [t for t in objective.terms if t.name not in ("content", "style")]
        for term in self.image_terms:
            if term.layers():
                raise SettingsError("tile", f"the loss term {term.name!r} reads feature maps and cannot be tiled; "
                                            "give the run more memory (--max-memory) or a smaller --size")
        self.content_layers = self.content_term.layers() if self.content_term else []
        self.style_layers = self.style_term.layers() if self.style_term else []
        self.halo = halo_for(self.network.backbone, self.network.outputs)
        self.downsample = {layer.name: layer.downsample for layer in self.network.layers}
        image = tf.TensorSpec((1, None, None, 3), tf.float32)
        self._maps = tf.function(lambda x: dict(zip(self.network.outputs, self.network(x))),
                                 input_signature=[image], autograph=False)
        # the content's features need the network only up to the content layers (~12 % of it)
        early = self.network.up_to(self.content_layers) if self.content_layers else None
        self._content_maps = tf.function(lambda x: dict(zip(early.outputs, early(x))), input_signature=[image],
                                         autograph=False) if early else None
        # pass 2 as one graph: eager execution made a single-tile evaluation cost 1.8x an untiled one
        crops = tf.TensorSpec((len(self.style_layers) + len(self.content_layers), 4), tf.int32)
        grams = [tf.TensorSpec((None, None), tf.float32)] * len(self.style_layers)
        scalar = tf.TensorSpec((), tf.float32)
        self._gradient = tf.function(self._gradient_graph, autograph=False,
                                     input_signature=[image, image, grams, crops, scalar, scalar])

    # --- targets ------------------------------------------------------------------------

    def targets(self, content: np.ndarray, styles: list[np.ndarray], blend: list[float], weights: dict) -> TiledTargets:
        grams = [None] * len(self.style_layers)
        h, w = content.shape[1:3]
        for style, share in zip(styles, blend):
            style_grams = self._grams(style)
            sh, sw = style.shape[1:3]
            for i, name in enumerate(self.style_layers):
                d = self.downsample[name]
                positions = float((h // d) * (w // d))
                style_positions = float((sh // d) * (sw // d))
                term = share * (positions / style_positions) * style_grams[i]
                grams[i] = term if grams[i] is None else grams[i] + term
        factors = {t.name: t.weight(weights[t.name]) for t in self.objective.terms}
        image_targets = {}
        if self.image_terms:
            image_targets = self.objective.targets_for(self.image_terms, content, styles, blend, weights)
        return TiledTargets(np.asarray(content, np.float32), grams, factors, image_targets)

    def _grams(self, image: np.ndarray) -> list[tf.Tensor]:
        """The Gram matrix of every style layer over a whole image, summed tile by tile."""
        from . import losses

        h, w = image.shape[1:3]
        total = [None] * len(self.style_layers)
        for tile in tiles(h, w, self.tile, self.halo):
            maps = self._maps(tf.constant(self._cut(image, tile)))
            for i, name in enumerate(self.style_layers):
                gram = losses.gram_matrix(tile.crop(maps[name], self.downsample[name], h, w))
                total[i] = gram if total[i] is None else total[i] + gram
        return total

    @staticmethod
    def _cut(image: np.ndarray, tile: Tile) -> np.ndarray:
        return image[:, tile.rows.halo[0]:tile.rows.halo[1], tile.columns.halo[0]:tile.columns.halo[1], :]

    # --- evaluation ---------------------------------------------------------------------

    def value_and_grad(self, image: np.ndarray, targets: TiledTargets) -> tuple[Losses, np.ndarray]:
        from . import losses

        h, w = image.shape[1:3]
        normaliser = float(losses.style_normaliser(h, w))
        layout = tiles(h, w, self.tile, self.halo)
        # pass 1: the Grams of the whole image, core by core
        grams = [None] * len(self.style_layers)
        for tile in layout:
            maps = self._maps(tf.constant(self._cut(image, tile)))
            for i, name in enumerate(self.style_layers):
                gram = losses.gram_matrix(tile.crop(maps[name], self.downsample[name], h, w))
                grams[i] = gram if grams[i] is None else grams[i] + gram
        style = sum(float(tf.reduce_sum(tf.square(a - g))) / normaliser for g, a in zip(grams, targets.grams))
        # pass 2: each tile again, back-propagating the true gradient of its core; the content
        # loss needs no global sum first, so its cores are summed here (the content's features
        # are computed once per tile and evaluation, not in both passes)
        grad, content = np.zeros_like(image, np.float32), 0.0
        differences = [g - a for g, a in zip(grams, targets.grams)]
        for tile in layout:
            part, tile_content = self._tile_gradient(tile, image, targets, differences, normaliser, h, w)
            grad[:, tile.rows.halo[0]:tile.rows.halo[1], tile.columns.halo[0]:tile.columns.halo[1], :] += part
            content += tile_content
        parts = {}
        if self.content_term:
            parts["content"] = targets.weights["content"] * content
        if self.style_term:
            parts["style"] = targets.weights["style"] * style
        if self.image_terms:
            image_losses, image_grad = self.objective.value_and_grad_of(self.image_terms, image, targets.image_terms)
            parts.update(image_losses)
            grad += image_grad
        ordered = {name: parts[name] for name in self.objective.names}
        return Losses(float(sum(ordered.values())), ordered), grad

    def value(self, image: np.ndarray, targets: TiledTargets) -> Losses:
        return self.value_and_grad(image, targets)[0]

    def _tile_gradient(self, tile, image, targets, differences, normaliser, h, w) -> tuple[np.ndarray, float]:
        """The input gradient of one tile's core (a surrogate with the true gradient there), and
        the content loss sum((F - P)^2) over that core, P from the content image's same tile."""
        crops = [tile.box(self.downsample[name], h, w) for name in self.style_layers + self.content_layers]
        gradient, content = self._gradient(
            tf.constant(self._cut(image, tile)), tf.constant(self._cut(targets.content, tile)), differences,
            tf.constant(crops, tf.int32) if crops else tf.zeros((0, 4), tf.int32),
            tf.constant(2.0 * targets.weights.get("style", 0.0) / normaliser, tf.float32),
            tf.constant(targets.weights.get("content", 0.0), tf.float32))
        return gradient.numpy(), float(content)

    def _gradient_graph(self, x, content_x, differences, crops, style_factor, content_weight):
        from . import losses

        def core(maps, i):
            return maps[:, crops[i, 0]:crops[i, 1], crops[i, 2]:crops[i, 3], :]

        content_maps = self._content_maps(content_x) if self.content_layers else {}
        with tf.GradientTape() as tape:
            tape.watch(x)
            maps = dict(zip(self.network.outputs, self.network(x)))
            surrogate = tf.constant(0.0)
            for i, (name, difference) in enumerate(zip(self.style_layers, differences)):
                # d/dF of sum(gram(F) * M) is 2 F M for symmetric M; the loss's is 4 F (G - A) / n
                surrogate += style_factor * tf.reduce_sum(
                    losses.gram_matrix(core(maps[name], i)) * tf.stop_gradient(difference))
            content = tf.constant(0.0)
            for j, name in enumerate(self.content_layers):
                i = len(self.style_layers) + j
                content += losses.content_loss(core(maps[name], i), core(content_maps[name], i))
            surrogate += content_weight * content
        return tape.gradient(surrogate, x), content
