"""Colour control: which colours the result keeps.

Luminance-only transfer (`preserve_color`, Gatys et al. 2016, "Preserving colour"): the network
sees luminance images, the style's matched to the content's mean and spread first, and the
result's luminance is recombined with the content's chroma in YIQ space.

Colour transfer (`color_transfer`, Gatys et al. 2017, "Controlling Perceptual Factors in Neural
Style Transfer", section 5): the style image's colours are matched to the content's before the
transfer, so the texture comes in the photo's palette; or the result's colours are matched back
to the content's afterwards:

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


def recombine(result_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The result's luma with the content's I and Q channels, as uint8 RGB."""
    return np.clip(np.rint(recombine_float(result_rgb, content_rgb)), 0, 255).astype(np.uint8)


def recombine_float(result_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The same, unrounded: float64 RGB in [0, 255]."""
    yiq = rgb_to_yiq(content_rgb)
    yiq[..., 0] = luminance(result_rgb)
    return np.clip(yiq_to_rgb(yiq), 0, 255)


COLOUR_MODES = ("none", "histogram", "cholesky", "pca", "symmetric", "result")
BEFORE_TRANSFER = ("histogram", "cholesky", "pca", "symmetric")  # modes that recolour the style
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


def recolour(source_rgb: np.ndarray, reference_rgb: np.ndarray, mode: str) -> np.ndarray:
    """The source image in the reference's colours by a colour-transfer mode (not `none`/`result`)."""
    if mode == "histogram":
        return match_histogram(source_rgb, reference_rgb)
    return match_covariance(source_rgb, reference_rgb, mode)
