"""Named loss terms: content, style and total variation, and any term a plugin registers.

A term turns the image (and the feature maps of the layers it reads) into one unweighted
scalar; the objective multiplies each by its weight and sums them in order. Everything
downstream takes its names from here: the history's `<name>_loss` columns, summary.csv,
the log lines and the loss plots. So a new term is one class in one module, a `Term`
subclass decorated with `register_term` (tests/plugins/mean_colour_term.py is a whole one),
used with `nst transfer … --plugins my_module --terms mean_colour=100` (in the workflow
`nst: {plugins: [my_module], terms: {mean_colour: 100}}`).

A term's maths is written once with `self.ops`, the backend's array functions
(nst/backends), so it runs on TensorFlow and on PyTorch alike.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import ClassVar


import numpy as np

from . import losses
from .errors import SettingsError
from .images import preprocess
from .masks import layer_masks

# The key of a guide at the image's own resolution (every other key is a layer's name).
IMAGE = "image"


@dataclass(frozen=True)
class Features:
    """One input image (preprocessed, (1, H, W, 3)) as a term's `targets` sees it.

    `maps`: its feature maps by layer name, in the network's compute precision (bfloat16
    where that was chosen; widen them with `ops.float32_of(m)` before summing, as
    nst.losses does). Empty when the stage is evaluated tile by tile: an image at print size
    has no whole maps, so a term compares the content position by position through
    `content_layers` and reads a style through `sums`.
    `sums`: the term's own `image_sums` of this image's maps, summed over every position
    (whole or tile by tile: the same numbers).
    """

    image: object  # a tensor of the backend's library
    maps: dict
    sums: tuple = ()
    downsample: dict[str, int] = field(default_factory=dict)

    def positions(self, layer: str) -> int:
        """Feature positions of the image at `layer` (H/d x W/d, as pooling floors them)."""
        d = self.downsample[layer]
        return (int(self.image.shape[1]) // d) * (int(self.image.shape[2]) // d)


class Term:
    """One weighted part of the objective. Subclasses set `name` and define the loss.

    A term that reads feature maps is written as sums over positions, so it can be
    evaluated tile by tile exactly (nst/tiling.py) as well as whole:

    * `partials`: sums over the positions of the maps it is given (the whole image, or one
      tile's core) that add up across tiles, for example one Gram matrix per layer;
    * `combine`: the unweighted loss from those sums totalled over every position.

    `loss` is `combine(partials(...))`. A term whose loss is itself such a sum (`additive`)
    is summed tile by tile in one pass; the others need their totals before their gradient
    can flow back (two passes). A term that reads only the image (total variation) may
    define `loss` alone: tiled stages evaluate it on the whole image.

    Per-position inputs beside the image (a region's mask, a video's warped previous frame
    and its reliability) are *guides*: a stage hands every term the same named arrays at the
    image's resolution (`StageImages.guides`), and a term turns those it reads into arrays
    aligned with the maps it reads (`guide_arrays`, once per stage). They reach `partials` and
    `loss` as `guides`, by layer, cropped to a tile's core like the maps when tiled.
    """

    name: ClassVar[str]
    additive: ClassVar[bool] = False  # combine(totals) is the sum of the totals
    # An image-only term whose `loss` is a sum over positions, each reading its own row and the
    # `reach` rows below it, and counting only positions whose rows are all in the image it is
    # given: tiled stages then evaluate it in bands of rows, so its temporaries are a band's, not
    # the whole print's. None: it needs the whole image at once.
    reach: ClassVar[int | None] = None

    def __init__(self, settings, ops=None):
        self.settings = settings  # nst.settings.TransferSettings: what the term may read (layers, …)
        self.ops = ops  # the backend's array functions (nst/backends); None where only the layers are asked

    def layers(self) -> list[str]:
        """The feature maps of the image being optimised that the term reads."""
        return []

    def content_layers(self) -> list[str]:
        """Feature maps of the content image the term compares with the image's position by position;
        they come to `partials` and `loss` as `content_maps`, aligned with `maps`."""
        return []

    def weight(self, weight: float) -> float:
        """The factor the unweighted loss is multiplied by, given the term's setting."""
        return weight

    def target_specs(self, channels: dict[str, int]) -> tuple:
        """Shapes of `targets`' tensors (`self.ops.spec(shape)`), so one traced graph serves every stage and size."""
        return ()

    def image_sums(self, maps: dict) -> tuple:
        """Sums over the positions of an image's maps that `targets` reads of a style image (`Features.sums`)."""
        return ()

    def targets(self, content: Features, styles: list[tuple[Features, float]]) -> tuple:
        """What stays fixed during a stage, from the content and the (style, blend weight) pairs."""
        return ()

    def guide_specs(self) -> dict:
        """The guides the term reads, by layer (or `IMAGE`): each a (1, h, w, K) float32 array
        aligned with that layer's maps; their shapes, so one traced graph serves every stage."""
        return {}

    def guide_arrays(self, stage_guides: dict[str, np.ndarray], downsample: dict[str, int]) -> dict[str, np.ndarray]:
        """This stage's guides for the term, as `guide_specs` names them, from the stage's named
        (H, W, K) arrays at the image's resolution; `downsample`: each layer's factor."""
        return {}

    def partials(self, image, maps: dict, targets: tuple, content_maps: dict, guides: dict) -> tuple | None:
        """Float32 sums over the positions of `maps` (and of `content_maps`, the content's maps at the
        same positions, and of `guides`) that add up across tiles; None for a term not written as such sums."""
        return None

    def combine(self, totals: tuple, targets: tuple, height, width):
        """The unweighted loss from `partials` totalled over every position of an H x W image."""
        if self.additive:
            return self.ops.add_n(totals)
        raise NotImplementedError(f"{type(self).__name__} defines partials but not combine")

    def loss(self, image, maps: dict, targets: tuple, content_maps: dict, guides: dict):
        totals = self.partials(image, maps, targets, content_maps, guides)
        if totals is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither loss nor partials")
        return self.combine(totals, targets, self.ops.dim(image, 1), self.ops.dim(image, 2))


_REGISTRY: dict[str, type[Term]] = {}


def register_term(cls: type[Term]) -> type[Term]:
    """Make a term available by its name (a class decorator)."""
    if not getattr(cls, "name", "").isidentifier():
        raise ValueError(f"{cls.__name__}.name must be a Python identifier, got {getattr(cls, 'name', None)!r}")
    _REGISTRY[cls.name] = cls
    return cls


def import_plugins(modules: list[str]) -> None:
    """Import the plugin modules that register further terms, naming the one that cannot be imported."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise SettingsError("plugins", f"cannot import {module!r} ({exc}); is it on PYTHONPATH?") from None


def known_terms(plugins: list[str] = ()) -> list[str]:
    """The names of every registered term, the plugins' included."""
    import_plugins(list(plugins))
    return list(_REGISTRY)


def unknown_term(name: str) -> str:
    """What to say of a term name no module registered."""
    return f"no loss term named {name!r}; known: {', '.join(_REGISTRY)} (a plugin module registers more)"


def read_layers(settings) -> list[str]:
    """Every layer a run of `settings` reads, in the network's order of first use: the layers of the
    image each term reads and those it compares with the content's. The terms alone say it (plugins
    included), so the network, the memory plan, a tile's halo, the smallest size and the time
    estimate all follow the same answer."""
    return every_layer(layers_by_term(build_terms(settings)))


def layers_by_term(terms) -> dict[str, list[str]]:
    """Each term's layers (its image's and the content's it compares with), by the term's name."""
    return {term.name: list(dict.fromkeys(term.layers() + term.content_layers())) for term in terms}


def every_layer(by_term: dict[str, list[str]]) -> list[str]:
    """The layers of `layers_by_term`'s answer, each once, in the terms' order of first use."""
    return list(dict.fromkeys(layer for layers in by_term.values() for layer in layers))


def build_terms(settings, ops=None) -> list[Term]:
    """The terms `settings` ask for, in summing order: content, style, tv, then the extra ones;
    `ops`: the backend's array functions they compute with (None to ask only what they read)."""
    import_plugins(settings.plugins)
    terms = []
    for name in settings.loss_weights():
        if name not in _REGISTRY:
            raise SettingsError("terms", unknown_term(name))
        terms.append(_REGISTRY[name](settings, ops))
    return terms


@register_term
class ContentTerm(Term):
    """``sum((F - P)^2)`` between the image's and the content's maps, summed over content layers."""

    name = "content"
    additive = True

    def layers(self):
        return list(self.settings.content_layers)

    def content_layers(self):
        return self.layers()

    def partials(self, image, maps, targets, content_maps, guides):
        if not self.layers():
            return (self.ops.constant(0.0),)
        return (self.ops.add_n([losses.content_loss(self.ops, maps[n], content_maps[n]) for n in self.layers()]),)


@register_term
class StyleTerm(Term):
    """The article's Gram-matrix loss summed over style layers, each layer weighted sw / L.

    A style image of another size than the content is accounted for by scaling its Gram
    to the content's number of positions at each layer, so style_scale and non-matching
    aspect ratios change the texture's scale, not the loss's magnitude. A Gram matrix is a
    sum over positions, so the term tiles exactly: each tile adds its core's Grams.

    With style masks (settings.style_masks, one per style) it is the masked form of Gatys et
    al. 2017: region r's guided Gram, the features weighted by its mask at each layer
    (nst/masks.py), scaled up by the layer's positions over the region's (the texture of a
    whole image in the region's statistics), is compared with its own style's Gram, and the
    region's loss counts by its share of the layer. One mask over everything is the plain term.
    """

    name = "style"
    GUIDE = "style_masks"  # the stage guide the masked form reads: (H, W, regions), 0..1

    def layers(self):
        return list(self.settings.style_layers)

    @property
    def regions(self) -> int:
        return len(self.settings.style_masks)

    def weight(self, weight):
        return weight / max(1, len(self.layers()))

    def target_specs(self, channels):
        lead = (self.regions,) if self.regions else ()
        return tuple(self.ops.spec(lead + (channels[n], channels[n])) for n in self.layers())

    def guide_specs(self):
        if not self.regions:
            return {}
        return {n: self.ops.spec((1, None, None, self.regions)) for n in self.layers()}

    def guide_arrays(self, stage_guides, downsample):
        if not self.regions:
            return {}
        return {n: layer_masks(stage_guides[self.GUIDE], downsample[n]) for n in self.layers()}

    def image_sums(self, maps):
        return tuple(losses.gram_matrix(self.ops, maps[n]) for n in self.layers())

    def targets(self, content, styles):
        if self.regions:  # each region its own style, whole
            return tuple(self.ops.stack([(content.positions(name) / style.positions(name)) * style.sums[i]
                                         for style, _ in styles]) for i, name in enumerate(self.layers()))
        grams = [self.ops.zeros_like(g) for g in styles[0][0].sums] if styles else []
        for style, blend in styles:
            for i, (name, gram) in enumerate(zip(self.layers(), style.sums)):
                grams[i] = grams[i] + blend * (content.positions(name) / style.positions(name)) * gram
        return tuple(grams)

    def partials(self, image, maps, targets, content_maps, guides):
        if not self.regions:
            return self.image_sums(maps)
        ops = self.ops
        grams, sizes, positions = [], [], []
        for n in self.layers():
            features, mask = maps[n], guides[n]
            weights = ops.cast_like(mask, features)
            grams.append(ops.stack([losses.gram_matrix(ops, features * weights[..., r:r + 1])
                                    for r in range(self.regions)]))
            sizes.append(ops.sum(ops.square(mask), axis=(0, 1, 2)))
            positions.append(ops.size(mask, 1) * ops.size(mask, 2))
        return (*grams, *sizes, *positions)

    def combine(self, totals, targets, height, width):
        ops = self.ops
        if not targets:
            return ops.constant(0.0)
        normaliser = losses.style_normaliser(ops, height, width)
        if not self.regions:
            return ops.add_n([losses.style_layer_loss(ops, gram, target, normaliser)
                              for gram, target in zip(totals, targets)])
        return ops.add_n([ops.sum(share * loss) for share, loss in self._region_terms(totals, targets, normaliser)])

    def region_losses(self, totals, targets, height, width):
        """(regions,): each region's style loss against `targets` (its own style's, or any other's
        Grams stacked in region order), summed over layers, not yet weighted by its share."""
        normaliser = losses.style_normaliser(self.ops, height, width)
        return self.ops.add_n([loss for _, loss in self._region_terms(totals, targets, normaliser)])

    def _region_terms(self, totals, targets, normaliser):
        """Per layer: each region's share of the layer's positions, and its loss as a whole image."""
        count = len(self.layers())
        grams, sizes, positions = totals[:count], totals[count:2 * count], totals[2 * count:]
        for gram, size, whole, target in zip(grams, sizes, positions, targets):
            share = size / whole
            scaled = self.ops.divide_no_nan(gram, share[:, None, None])
            yield share, self.ops.sum(self.ops.square(target - scaled), axis=(1, 2)) / normaliser


@register_term
class TotalVariationTerm(Term):
    """The article's ``sum((a + b)^1.25)`` smoothness term on the image itself."""

    name = "tv"
    reach = 1  # each position's differences with the pixel below and the one to its right

    def loss(self, image, maps, targets, content_maps, guides):
        return losses.total_variation_loss(self.ops, image)


@register_term
class TemporalTerm(Term):
    """A video frame's distance from the previous stylised frame warped onto it (Ruder et al. 2016):
    ``sum(c * (x - w)^2)`` over pixels and channels, w the warped previous result and c its
    reliability (0 where the flow cannot be trusted, so there the frame is free). An image term:
    it reads no feature maps, so tiled stages evaluate it on the whole image.

    Its guides are the stage's `previous` ((H, W, 3) RGB, 0..255) and `reliability` ((H, W, 1));
    `nst video` (nst/video/chain.py) gives them, the first frame with reliability 0 everywhere.
    """

    name = "temporal"
    reach = 0

    def guide_specs(self):
        return {IMAGE: self.ops.spec((1, None, None, 4))}

    def guide_arrays(self, stage_guides, downsample):
        if "previous" not in stage_guides:
            raise SettingsError("terms", "the temporal term compares a video frame with the previous one; it runs "
                                         "through `nst video` (or the workflow's videos:), not on a single image")
        from .colour import colour_mode

        previous = colour_mode(self.settings.color_transfer).seen(stage_guides["previous"])
        return {IMAGE: np.concatenate([preprocess(previous), stage_guides["reliability"][np.newaxis]], axis=-1)}

    def loss(self, image, maps, targets, content_maps, guides):
        guide = guides[IMAGE]
        return self.ops.sum(guide[..., 3:] * self.ops.square(image - guide[..., :3]))
