"""The objective evaluated tile by tile: the same loss and gradient in bounded memory.

At print sizes one evaluation's activations no longer fit (VGG19 to block5_conv3 keeps
~1.2 GB of them per 512² image, so ~77 GB at 4096²). Tiling is exact here, not an
approximation, because every term that reads feature maps is written as sums over
positions (`Term.partials`) and a loss of their totals (`Term.combine`):

* pass 1 runs each tile forward and adds its *core*'s (the positions it owns) partial sums,
  so the totals are those of the whole image, and each term's loss follows from them. It
  keeps nothing for a gradient, so its tiles can be several times larger than pass 2's (fewer
  halos computed again): `forward_tile`;
* the gradient of a term's loss at a position needs only that position's features and the
  loss's gradient with respect to the totals, so pass 2 runs each tile again and
  back-propagates a surrogate, the partial sums of its core weighted by that (fixed)
  gradient, whose input gradient at the core is the true one;
* a term whose loss is itself a sum (`Term.additive`, the content loss) needs no totals
  first: pass 2 alone sums it (the content's maps are computed once per tile and evaluation);
* a core's features are exactly the whole image's when the tile carries a halo as wide as
  the network's receptive-field radius (116 px for VGG up to block5_conv3; 128 is used)
  and every tile starts on a multiple of 16, so its pooling windows are the image's.

The input gradients of overlapping halos are added: each feature position belongs to one
core, and its whole gradient flows back through its own tile. Terms that read no feature
maps (total variation, a plugin's image term) are evaluated in bands of rows where they say
how far down they read (`Term.reach`), else on the whole image. No term is named here: a
plugin's term tiles as the built-in ones do. Written once against the backend (nst/backends):
the image, the gradient and the tiles are the optimiser's arrays, on the device with PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backbones import ALIGN, halo_for
from .errors import SettingsError
from .loss_values import Losses
from .objective import term_guides, term_targets
from .terms import IMAGE, Features, Term


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

    def crop(self, maps, downsample: int, height: int, width: int):
        """The core of a haloed tile's feature map at a layer `downsample` times smaller than the image."""
        top, bottom, left, right = self.box(downsample, height, width)
        return maps[:, top:bottom, left:right, :]

    def core_of(self, whole, downsample: int, height: int, width: int):
        """The core's positions of an array over the whole image at a layer `downsample` times smaller."""
        return whole[:, self.rows.core[0] // downsample:_core_end(self.rows.core[1], height, downsample),
                     self.columns.core[0] // downsample:_core_end(self.columns.core[1], width, downsample), :]


def _core_end(end: int, length: int, downsample: int) -> int:
    """Where a core ends at a downsampled layer: the image's own floor at its last tile."""
    return length // downsample if end == length else end // downsample


def tiles(height: int, width: int, tile: int, halo: int) -> list[Tile]:
    return [Tile(r, c) for r in spans(height, tile, halo) for c in spans(width, tile, halo)]


@dataclass
class TiledTargets:
    content: object  # the preprocessed content image (the optimiser's array): each tile's content maps come from it
    terms: dict  # every term's (weight, targets), as the whole objective's StageTargets.terms
    guides: dict  # every term's guides over the whole image (numpy), cropped to each tile's core


class TiledObjective:
    """`Objective`'s loss and gradient computed tile by tile (see the module docstring)."""

    def __init__(self, objective, tile: int, forward_tile: int = 0):
        self.objective = objective
        self.backend = objective.backend
        self.network = objective.network
        self.tile = tile
        self.forward_tile = max(forward_tile, tile)  # pass 1's tiles
        self.summed = [t for t in objective.terms if t.layers() or t.content_layers()]
        self.image_terms = [t for t in objective.terms if t not in self.summed]
        for term in self.summed:
            if type(term).partials is Term.partials:
                raise SettingsError("tile", f"the loss term {term.name!r} reads feature maps but is not written as "
                                            "sums over positions (Term.partials and combine), so it cannot be tiled; "
                                            "give the run more memory (--max-memory) or a smaller --size")
        self.two_pass = [t for t in self.summed if not t.additive]
        self.halo = halo_for(self.network.backbone, self.network.outputs)
        self.downsample = objective.downsample
        self.content_layers = objective.content_layers
        # the layers whose crops pass 2 takes, in a fixed order: the image's, then the content's
        self.layers = list(dict.fromkeys(layer for t in self.summed for layer in t.layers()))
        backend = self.backend
        image = backend.ops.spec((1, None, None, 3))
        self._maps = backend.function(lambda x: dict(zip(self.network.outputs, self.network(x))), [image])
        # the content's maps need the network only up to the content layers (~12 % of it for the article's)
        early = self.network.up_to(self.content_layers) if self.content_layers else None
        self._content_maps = backend.function(lambda x: dict(zip(early.outputs, early(x))), [image]) if early else None
        # each pass as one graph: eager execution made a single-tile TensorFlow evaluation cost 1.8x an
        # untiled one; pass 1's returns only the sums, so no layer's maps outlive their use
        self._gradient = backend.value_and_grad(self._surrogate_graph)
        self._sums = backend.function(self._sums_graph)

    # --- targets ------------------------------------------------------------------------

    def targets(self, content, styles: list, blend: list[float], weights: dict,
                guides: dict | None = None) -> TiledTargets:
        """As the whole objective's, with each style's sums added up tile by tile and no whole maps."""
        backend = self.backend
        style_inputs = [(backend.tensor(style), {}, self._image_sums(backend.vectors.from_host(style)))
                        for style in styles]
        content_features = Features(backend.tensor(content), {}, (), self.downsample)
        found = term_targets(self.objective.terms, content_features, style_inputs, blend, weights, self.downsample)
        return TiledTargets(backend.vectors.from_host(content), found,
                            term_guides(self.objective.terms, guides, self.downsample))

    def _image_sums(self, image) -> dict[str, tuple]:
        """Every term's `image_sums` over a whole image, added up core by core."""
        h, w = image.shape[1:3]
        total: dict[str, tuple] = {}
        for tile in tiles(h, w, self.tile, self.halo):
            maps = self._cores(tile, self._maps(self.backend.tensor(self._cut(image, tile))), h, w)
            for term in self.objective.terms:
                total[term.name] = _added(total.get(term.name), term.image_sums(maps))
        return total

    @staticmethod
    def _cut(image, tile: Tile):
        return image[:, tile.rows.halo[0]:tile.rows.halo[1], tile.columns.halo[0]:tile.columns.halo[1], :]

    def _cores(self, tile: Tile, maps: dict, h: int, w: int) -> dict:
        return {name: tile.crop(m, self.downsample[name], h, w) for name, m in maps.items()}

    # --- evaluation ---------------------------------------------------------------------

    def value_and_grad(self, image, targets: TiledTargets) -> tuple[Losses, object]:
        backend, to_float = self.backend, self.backend.ops.to_float
        image = backend.vectors.from_host(image)  # the optimiser's array (a host array is moved once)
        h, w = image.shape[1:3]
        layout = tiles(h, w, self.tile, self.halo)
        # pass 1: the two-pass terms' partial sums over the whole image, core by core, in its own tiles
        totals: dict[str, tuple] = {}
        for tile in tiles(h, w, self.forward_tile, self.halo) if self.two_pass else []:
            sums = self._sums(backend.tensor(self._cut(image, tile)), backend.tensor(self._cut(targets.content, tile)),
                              self._crops(tile, h, w), {t.name: targets.terms[t.name] for t in self.two_pass},
                              self._tile_guides(tile, targets, h, w, self.two_pass))
            for term in self.two_pass:
                totals[term.name] = _added(totals.get(term.name), sums[term.name])
        # each two-pass term's loss from its totals, and the loss's gradient with respect to them
        parts, upstream = {}, {}
        for term in self.two_pass:
            weight, term_targets = targets.terms[term.name]
            loss, upstream[term.name] = backend.gradient(
                lambda *sums, term=term, weight=weight, term_targets=term_targets:
                weight * term.combine(tuple(sums), term_targets, h, w), list(totals[term.name]))
            parts[term.name] = to_float(loss)
        # pass 2: each tile again, back-propagating the true gradient of its core; the additive
        # terms' partial sums are their losses, summed here
        grad = backend.vectors.zeros_like(image)
        additive = {t.name: 0.0 for t in self.summed if t.additive}
        for tile in layout:
            _, sums, part = self._gradient(
                backend.tensor(self._cut(image, tile)), backend.tensor(self._cut(targets.content, tile)),
                self._crops(tile, h, w), {t.name: targets.terms[t.name] for t in self.summed}, upstream,
                self._tile_guides(tile, targets, h, w, self.summed))
            grad[:, tile.rows.halo[0]:tile.rows.halo[1], tile.columns.halo[0]:tile.columns.halo[1], :] += \
                backend.vector(part)
            for name, value in sums.items():
                additive[name] += to_float(value)
        parts.update(additive)
        if self.image_terms:
            parts.update(self._image_terms(image, targets, grad))
        ordered = {name: parts[name] for name in self.objective.names}
        return Losses(float(sum(ordered.values())), ordered), grad

    def _image_terms(self, image, targets: TiledTargets, grad) -> dict[str, float]:
        """The image-only terms' weighted losses, their gradient added into `grad`: in bands of a tile's
        height where a term says how far down it reads (`Term.reach`), else on the whole image.
        Whole, the article's total variation alone kept eight image-sized temporaries (1.5 GB at 4096²)."""
        h = image.shape[1]
        groups: dict[int | None, list[Term]] = {}
        for term in self.image_terms:
            bandable = term.reach is not None and set(targets.guides[term.name]) <= {IMAGE}
            groups.setdefault(term.reach if bandable else None, []).append(term)
        found = {}
        for below, terms in groups.items():
            rows, below = (h, 0) if below is None else (self.tile, below)
            image_targets = {t.name: targets.terms[t.name] for t in terms}
            for top in range(0, h, rows):
                bottom = min(h, top + rows + below)  # the band's rows and those its last row reads
                if bottom - top <= below:  # rows only the band above reads
                    continue
                guides = {t.name: {layer: self.backend.tensor(a[:, top:bottom])
                                   for layer, a in targets.guides[t.name].items()} for t in terms}
                losses, band_grad = self.objective.value_and_grad_of(terms, image[:, top:bottom], image_targets,
                                                                     guides)
                grad[:, top:bottom] += band_grad
                for name, value in losses.items():
                    found[name] = found.get(name, 0.0) + value
        return found

    def value(self, image, targets: TiledTargets) -> Losses:
        return self.value_and_grad(image, targets)[0]

    def _crops(self, tile: Tile, h: int, w: int):
        """The core's box in every layer the graphs crop (the image's layers, then the content's)."""
        return self.backend.ops.indices([tile.box(self.downsample[name], h, w)
                                         for name in self.layers + self.content_layers])

    def _tile_guides(self, tile, targets, h, w, terms=None) -> dict:
        """The guides of `terms` (all by default) at the tile's core, as tensors."""
        return {t.name: {layer: self.backend.tensor(tile.core_of(array, 1 if layer == IMAGE else self.downsample[layer],
                                                                 h, w))
                         for layer, array in targets.guides[t.name].items()}
                for t in (terms if terms is not None else self.objective.terms)}

    def _core(self, maps, name, crops, content=False):
        """A layer's maps cropped to the core (`crops` as `_crops`; content layers come after the image's)."""
        layers = self.layers + self.content_layers
        i = layers.index(name, len(self.layers) if content else 0)
        return maps[:, crops[i][0]:crops[i][1], crops[i][2]:crops[i][3], :]

    def _core_content_maps(self, content_x, crops, terms) -> dict:
        """The content's maps at the core, where `terms` compare with them."""
        if not any(t.content_layers() for t in terms):
            return {}
        whole = self._content_maps(content_x)
        return {n: self.backend.ops.float32_of(self._core(whole[n], n, crops, content=True))
                for n in self.content_layers}

    def _core_maps(self, x, crops) -> dict:
        whole = dict(zip(self.network.outputs, self.network(x)))
        return {name: self._core(whole[name], name, crops) for name in self.layers}

    def _sums_graph(self, x, content_x, crops, term_targets, guides):
        """Pass 1 on one tile: the two-pass terms' partial sums over its core, forward only."""
        content_maps = self._core_content_maps(content_x, crops, self.two_pass)
        maps = self._core_maps(x, crops)
        return {t.name: tuple(t.partials(x, maps, term_targets[t.name][1], content_maps, guides[t.name]))
                for t in self.two_pass}

    def _surrogate_graph(self, x, content_x, crops, term_targets, upstream, guides):
        """Pass 2 on one tile: a surrogate whose input gradient at the tile's core is the true one (the
        backend differentiates it), and the additive terms' weighted partial sums over that core."""
        ops = self.backend.ops
        content_maps = self._core_content_maps(content_x, crops, self.summed)
        maps = self._core_maps(x, crops)
        surrogate, sums = ops.constant(0.0), {}
        for term in self.summed:
            weight, targets = term_targets[term.name]
            partials = term.partials(x, maps, targets, content_maps, guides[term.name])
            if term.additive:
                sums[term.name] = weight * ops.add_n(list(partials))
                surrogate += sums[term.name]
            else:  # the loss's gradient with respect to the totals, held fixed, times the core's sums
                surrogate += ops.add_n([ops.sum(p * ops.stop_gradient(g))
                                        for p, g in zip(partials, upstream[term.name])])
        return surrogate, sums


def _added(total: tuple | None, part) -> tuple:
    part = tuple(part)
    return part if total is None else tuple(a + b for a, b in zip(total, part))
