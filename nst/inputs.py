"""A transfer's input images: decoded and checked first, then resized for each stage.

Every file is decoded before any model is built, and every stage size is checked against
the network's smallest input and the memory estimate, so a bad input or size fails in a
second with its name, not minutes into a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import colour, images, masks
from .backbones import deepest_layer, minimum_side
from .errors import ImageError, SettingsError
from .settings import INITS, TransferSettings
from .terms import read_layers


@dataclass
class Inputs:
    """The decoded input images (PIL) and the names to report them by."""

    content: object
    styles: list
    init: object  # an image when settings.init is a file or magenta (nst.magenta), else None
    content_name: str
    style_names: list[str]
    notices: list[str]  # what the user should know about how a file was read
    content_alpha: object = None  # the content's alpha channel (PIL, mode L), which the result keeps
    masks: list = field(default_factory=list)  # one per style with settings.style_masks (PIL, mode L)
    guides: dict = field(default_factory=dict)  # further per-position inputs, (H, W, K) at the content's size

    @classmethod
    def load(cls, content: str | Path, styles: list[str | Path], settings: TransferSettings,
             guides: dict | None = None) -> "Inputs":
        """Decode every input file, so a bad one fails before any model is built. `guides`: named
        per-position inputs (a video frame's warped previous result and its reliability), (H, W, K)
        float32 arrays of the content's size, resized with it at every stage."""
        if not styles:
            raise SettingsError("at least one style image is needed")
        notices: list[str] = []
        init = None if settings.init in INITS else images.load_rgb(settings.init, notices)
        loaded = images.load(content, notices)
        style_images = [images.load_rgb(s, notices) for s in styles]
        style_masks = [load_mask(m, loaded.rgb.size, notices) for m in settings.style_masks]
        if settings.init == "magenta":
            from .magenta import magenta_start

            init = magenta_start(loaded.rgb, style_images, settings.blend(len(styles)), settings.threads)
        width, height = loaded.rgb.size
        for name, array in (guides or {}).items():
            if array.shape[:2] != (height, width):
                raise ImageError(f"{content}: the guide {name!r} is {array.shape[1]}x{array.shape[0]}, not the "
                                 f"content's {width}x{height}")
        return cls(loaded.rgb, style_images, init, str(content), [str(s) for s in styles], notices, loaded.alpha,
                   style_masks, dict(guides or {}))

    def check_sizes(self, settings: TransferSettings, backbone: str) -> None:
        """Refuse stage sizes for which the deepest layer a term reads would have no pixels."""
        layers = read_layers(settings)
        smallest = minimum_side(backbone, layers)
        for size in settings.sizes():
            w, h = images.fit_size(*self.content.size, size)
            if min(w, h) < smallest:
                raise ImageError(
                    f"{self.content_name}: at size {size} it becomes {w}x{h}, but {backbone} up to "
                    f"{deepest_layer(backbone, layers)} needs at least {smallest}x{smallest}; raise --size"
                )
            for style, name in zip(self.styles, self.style_names):
                sw, sh = images.fit_size(*style.size, settings.style_size(size))
                if min(sw, sh) < smallest:
                    raise ImageError(
                        f"{name}: at style scale {settings.style_scale} it becomes {sw}x{sh}, below the "
                        f"{smallest}x{smallest} minimum; raise --style-scale or --size"
                    )

    def upscaled_styles(self, settings: TransferSettings) -> list[str]:
        """A notice for each style image the largest stage enlarges: its texture is then an upscaled blur."""
        largest = settings.style_size(max(settings.sizes()))
        return [f"{name}: {style.width}x{style.height} px is enlarged to a longest side of {largest} px for the "
                f"{max(settings.sizes())} px stage, which blurs its texture; a style image of at least {largest} px "
                "would serve" for style, name in zip(self.styles, self.style_names) if max(style.size) < largest]

    def shape_at(self, size: int) -> tuple[int, int]:
        """(height, width) of the result at a stage of longest side `size`."""
        w, h = images.fit_size(*self.content.size, size)
        return h, w

    def stage(self, settings: TransferSettings, size: int) -> "StageImages":
        """Content and styles resized for one stage, as shown and as the network sees them (its colour
        mode says what that is: the luminance-only mode shows it grey images, the style's matched to the
        content's mean and spread; colour transfers give the styles the content's colours);
        `content_rgb` keeps the colours to render the result with."""
        w, h = images.fit_size(*self.content.size, size)
        content_rgb = images.to_array(images.resize(self.content, (w, h)))
        style_rgbs = [
            images.to_array(images.resize(s, images.fit_size(*s.size, settings.style_size(size)))) for s in self.styles
        ]
        alpha = None
        if self.content_alpha is not None:
            alpha = np.asarray(images.resize(self.content_alpha, (w, h)), np.uint8)
        guides = {}
        if self.masks:
            guides["style_masks"] = np.dstack(
                [np.asarray(m.resize((w, h), images.Image.Resampling.BILINEAR), np.float32) / 255.0
                 for m in self.masks])  # bilinear: Lanczos's ringing would spill a faint region past an edge
        guides.update({name: resized(array, h, w, settings) for name, array in self.guides.items()})
        mode = colour.colour_mode(settings.color_transfer)
        return StageImages(content_rgb, mode.seen(content_rgb), mode.styles(style_rgbs, content_rgb), alpha, guides)


@dataclass
class StageImages:
    content_rgb: np.ndarray  # (H, W, 3) float32 RGB, the content as shown
    content_net: np.ndarray  # what the network sees of the content (its colour mode's view)
    style_nets: list[np.ndarray]  # what it sees of each style
    alpha: np.ndarray | None = None  # (H, W) uint8: the content's transparency, given to the result
    guides: dict = field(default_factory=dict)  # per-position inputs by name, (H, W, K) float32 (nst.terms)

    @property
    def shape(self) -> tuple[int, int]:
        return self.content_rgb.shape[:2]

    def targets(self, objective, settings: TransferSettings, first_shape: tuple[int, int] | None = None):
        """The objective's fixed targets for this stage, with the settings' weights (balanced
        against the first stage's, of `first_shape`, where settings.stage_balance asks)."""
        h, w = self.shape
        first_pixels = first_shape[0] * first_shape[1] if first_shape else None
        return objective.targets(
            images.preprocess(self.content_net),
            [images.preprocess(s) for s in self.style_nets],
            settings.blend(len(self.style_nets)),
            settings.loss_weights(h * w, first_pixels),
            self.guides,
        )

    def kept(self) -> np.ndarray | None:
        """(1, H, W, 1) float32, 1 where the photo is kept as it is (no style mask covers the pixel), or
        None when every pixel is styled: the run starts those pixels from the content and never moves them."""
        if "style_masks" not in self.guides:
            return None
        keep = ~masks.styled(self.guides["style_masks"])
        return keep[np.newaxis, :, :, np.newaxis].astype(np.float32) if keep.any() else None

    def with_photo_kept(self, x: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """A preprocessed image with the content's own pixels where `kept` is 1."""
        return np.where(kept > 0, images.preprocess(self.content_net), x).astype(np.float32)

    def initial_image(self, settings: TransferSettings, rng, init_image) -> np.ndarray:
        """The starting point in preprocessed (BGR, mean-subtracted) space."""
        h, w = self.shape
        if settings.init == "noise":
            return (rng.uniform(0, 255, (1, h, w, 3)) - 128.0).astype(np.float32)  # the article's init
        if settings.init == "content":
            return images.preprocess(self.content_net)
        if settings.init == "style":
            style = images.Image.fromarray(self.style_nets[0].astype(np.uint8))
            return images.preprocess(images.to_array(images.resize(style, (w, h))))
        return images.preprocess(images.to_array(images.resize(init_image, (w, h))))

    def render(self, x: np.ndarray, settings: TransferSettings) -> np.ndarray:
        """A preprocessed image as it is saved: uint8 RGB (RGBA where the content had transparency), in
        the colours its colour mode renders."""
        rgb = images.deprocess(x)
        rendered = colour.colour_mode(settings.color_transfer).render(rgb.astype(np.float64), self.content_rgb)
        if rendered is not None:
            rgb = np.clip(np.rint(rendered), 0, 255).astype(np.uint8)
        if self.alpha is not None:
            return np.dstack([rgb, self.alpha])
        return rgb

    def render16(self, x: np.ndarray, settings: TransferSettings) -> np.ndarray:
        """The same at 16 bits per channel, from the unrounded image (for print)."""
        rgb = images.deprocess_float(x)
        rendered = colour.colour_mode(settings.color_transfer).render(rgb, self.content_rgb)
        if rendered is not None:
            rgb = rendered
        if self.alpha is not None:
            rgb = np.dstack([rgb, self.alpha.astype(np.float64)])
        return images.to_sixteen_bits(rgb)


def load_mask(path, content_size: tuple[int, int], notices: list[str]):
    """A style mask as a grey image (PIL, mode L), refused when it is black everywhere (its style
    would go nowhere); a notice where its shape is not the content's (it is stretched to it)."""
    mask = images.load(path, notices).rgb.convert("L")
    if mask.getextrema()[1] == 0:
        raise ImageError(f"{path}: the mask is black everywhere, so its style would go nowhere; paint the "
                         "style's region white")
    mw, mh = mask.size
    cw, ch = content_size
    if abs(mw / mh - cw / ch) > 0.01 * cw / ch:
        notices.append(f"{path}: {mw}x{mh} is stretched to the content's shape ({cw}x{ch})")
    return mask


def resized(array: np.ndarray, height: int, width: int, settings: TransferSettings) -> np.ndarray:
    """An (H, W, K) float32 guide at (height, width): bilinear, averaging where it shrinks (by the run's backend)."""
    if array.shape[:2] == (height, width):
        return np.asarray(array, np.float32)
    from .backends import backend_for

    backend = backend_for(settings.backend, settings.device)
    return backend.vectors.to_host(backend.resize(np.asarray(array, np.float32), height, width, "bilinear", True))
