"""Colour control: which colours the result keeps, as colour modes (`--color-transfer MODE`).

A mode is one `ColourMode` class in the registry below: it says what the network sees of an image
(the content, a video's previous frame, an image being scored), what each style image becomes
before the transfer, and how the result is rendered (the same function for 8 and 16 bits). Adding
a mode is one class decorated with `register_colour_mode`; the option's choices, its help, the
workflow's `color_transfers` axis and run names follow from the registry.

Luminance-only transfer (`luminance`, Gatys et al. 2016, "Preserving colour"; `--preserve-color`
is its other spelling): the network sees luminance images, the style's matched to the content's
mean and spread first, and the result's luminance is recombined with the content's chroma in YIQ
space.

Colour transfer (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer",
section 5): the style image's colours are matched to the content's before the transfer, so the
texture comes in the photo's palette; or the result's colours are matched back to the content's
afterwards:

* `histogram`: each channel's histogram of the style made the content's (scikit-image's
  `match_histograms`);
* `cholesky`, `pca`, `symmetric`: the style's pixels moved by an affine map x -> A (x - mu_s) + mu_c
  that gives them the content's mean and covariance exactly; they differ in which A among the
  many with A S_s A^T = S_c: the Cholesky factors' L_c L_s^-1, the symmetric square roots'
  S_c^1/2 S_s^-1/2 (the "Image Analogies" colour transfer, through each covariance's principal
  axes), or the one symmetric A, S_s^-1/2 (S_s^1/2 S_c S_s^1/2)^1/2 S_s^-1/2 (it moves colours
  the least);
* `result`: the result's histograms made the content's after the transfer.

Values a map pushes outside 0..255 are clipped, as any image is when it is saved.
"""

from __future__ import annotations

import numpy as np

RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=np.float64,
)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb, np.float64) @ RGB_TO_YIQ.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    return np.asarray(yiq, np.float64) @ YIQ_TO_RGB.T


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W) luma Y."""
    return rgb_to_yiq(rgb)[..., 0]


def as_grey_rgb(luma: np.ndarray) -> np.ndarray:
    """(H, W) luma -> (H, W, 3) float32 grey RGB, clipped to [0, 255]."""
    return np.repeat(np.clip(luma, 0, 255)[..., None], 3, axis=-1).astype(np.float32)


def match_luminance(style_luma: np.ndarray, content_luma: np.ndarray) -> np.ndarray:
    """Shift and scale the style's luma to the content's mean and standard deviation."""
    spread = style_luma.std()
    scale = content_luma.std() / spread if spread > 1e-6 else 1.0
    return (style_luma - style_luma.mean()) * scale + content_luma.mean()


def recombine_float(result_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The result's luma with the content's I and Q channels: float64 RGB in [0, 255]."""
    yiq = rgb_to_yiq(content_rgb)
    yiq[..., 0] = luminance(result_rgb)
    return np.clip(yiq_to_rgb(yiq), 0, 255)


LINEAR = ("cholesky", "pca", "symmetric")
_EPSILON = 1e-3  # grey levels squared added to each variance: a flat colour image still has an inverse


def pixel_statistics(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3,) and covariance (3, 3) of an (H, W, 3) image's pixels, float64."""
    pixels = np.asarray(rgb, np.float64).reshape(-1, 3)
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False, bias=True)


def _power(covariance: np.ndarray, exponent: float) -> np.ndarray:
    """A symmetric positive-definite matrix to a power, through its eigendecomposition."""
    values, vectors = np.linalg.eigh(covariance)
    return (vectors * np.maximum(values, _EPSILON) ** exponent) @ vectors.T


def linear_map(source: np.ndarray, reference: np.ndarray, method: str) -> np.ndarray:
    """A with A @ source @ A.T == reference (two covariances), the `method`'s choice among them."""
    eye = np.eye(3) * _EPSILON
    source, reference = source + eye, reference + eye
    if method == "cholesky":
        return np.linalg.cholesky(reference) @ np.linalg.inv(np.linalg.cholesky(source))
    if method == "pca":
        return _power(reference, 0.5) @ _power(source, -0.5)
    if method == "symmetric":
        root, inverse_root = _power(source, 0.5), _power(source, -0.5)
        return inverse_root @ _power(root @ reference @ root, 0.5) @ inverse_root
    raise ValueError(f"unknown linear colour map {method!r}; one of {', '.join(LINEAR)}")


def match_covariance(source_rgb: np.ndarray, reference_rgb: np.ndarray, method: str) -> np.ndarray:
    """The source image's pixels with the reference's mean and covariance: float64 RGB in [0, 255]."""
    source_mean, source_cov = pixel_statistics(source_rgb)
    reference_mean, reference_cov = pixel_statistics(reference_rgb)
    a = linear_map(source_cov, reference_cov, method)
    moved = (np.asarray(source_rgb, np.float64) - source_mean) @ a.T + reference_mean
    return np.clip(moved, 0, 255)


def match_histogram(source_rgb: np.ndarray, reference_rgb: np.ndarray) -> np.ndarray:
    """Each channel of the source given the reference's histogram: float64 RGB in [0, 255]."""
    from skimage.exposure import match_histograms

    return np.clip(match_histograms(np.asarray(source_rgb, np.float64), np.asarray(reference_rgb, np.float64),
                                    channel_axis=-1), 0, 255)


# --- the modes ------------------------------------------------------------------------------------


class ColourMode:
    """One colour mode: what the network sees, what the styles become, how the result is rendered.
    The default of each is to leave the colours alone (the `none` mode)."""

    name: str
    help: str

    def seen(self, rgb: np.ndarray) -> np.ndarray:
        """What the network sees of an (H, W, 3) float32 RGB image: the content, a video's warped previous
        frame, an image being scored."""
        return rgb

    def styles(self, style_rgbs: list[np.ndarray], content_rgb: np.ndarray) -> list[np.ndarray]:
        """What each style image (float32 RGB at its stage size) becomes before the transfer, as the network
        sees it."""
        return [self.seen(s) for s in style_rgbs]

    def render(self, rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray | None:
        """The result as saved, float64 RGB in [0, 255], from its own float RGB and the content's; None: as it is."""
        return None


COLOUR_MODES: dict[str, ColourMode] = {}


def register_colour_mode(cls: type[ColourMode]) -> type[ColourMode]:
    """Make a colour mode available by its name (a class decorator)."""
    COLOUR_MODES[cls.name] = cls()
    return cls


def colour_mode(name: str) -> ColourMode:
    return COLOUR_MODES[name]


@register_colour_mode
class Unchanged(ColourMode):
    name = "none"
    help = "the style's colours"


class _Recoloured(ColourMode):
    """The style image in the content's colours before the transfer."""

    def styles(self, style_rgbs, content_rgb):
        return [self.recolour(s, content_rgb).astype(np.float32) for s in style_rgbs]

    def recolour(self, style_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
        return match_covariance(style_rgb, content_rgb, self.name)


@register_colour_mode
class HistogramMatched(_Recoloured):
    name = "histogram"
    help = "the style's colours given each channel of the photo's histogram before the transfer"

    def recolour(self, style_rgb, content_rgb):
        return match_histogram(style_rgb, content_rgb)


@register_colour_mode
class CholeskyMatched(_Recoloured):
    name = "cholesky"
    help = "the style's colours given the photo's mean and covariance before the transfer (Cholesky factors)"


@register_colour_mode
class PcaMatched(_Recoloured):
    name = "pca"
    help = "the same through each covariance's principal axes"


@register_colour_mode
class SymmetricMatched(_Recoloured):
    name = "symmetric"
    help = "the same by the one symmetric map, which moves colours the least"


@register_colour_mode
class ResultMatched(ColourMode):
    name = "result"
    help = "the result's histograms made the photo's after the transfer"

    def render(self, rgb, content_rgb):
        return match_histogram(rgb, content_rgb)


@register_colour_mode
class LuminanceOnly(ColourMode):
    name = "luminance"
    help = "luminance only: the network sees grey images, and the result keeps the photo's colours (--preserve-color)"

    def seen(self, rgb):
        return as_grey_rgb(luminance(rgb))

    def styles(self, style_rgbs, content_rgb):
        content_luma = luminance(content_rgb)
        return [as_grey_rgb(match_luminance(luminance(s), content_luma)) for s in style_rgbs]

    def render(self, rgb, content_rgb):
        return recombine_float(rgb, content_rgb)
