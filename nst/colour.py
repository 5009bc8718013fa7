"""Colour preservation by luminance-only transfer (Gatys et al., 2016, "Preserving colour").

The network sees luminance images; the style's luminance is matched to the content's
mean and spread first, so the content's overall brightness survives. The result's
luminance is then recombined with the content's chroma in YIQ space.
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
