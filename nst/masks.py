"""Style masks (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer"):
where each style goes, at the image's resolution and at each layer's.

A mask is a grey image, 0 (black) to 1 (white): how much a pixel belongs to its style's
region. The style term compares each region's guided Gram matrix, the layer's features
weighted by the region's mask at that layer, with the Gram of its own style. At a layer
`d` times smaller than the image a mask is the mean of each d x d block (the positions the
pooled features stand for), then eroded by one position (the darkest of its 3 x 3
neighbourhood), so a feature whose receptive field reaches over a region's edge counts for
less there and one region's texture does not bleed into the other's statistics. Where
erosion would leave a region nothing at a layer (a region thinner than three positions) the
un-eroded mask serves. Pixels no mask covers are content-only: they keep the photo.
"""

from __future__ import annotations

import numpy as np


def pooled(masks: np.ndarray, downsample: int) -> np.ndarray:
    """(H, W, R) masks -> (H // d, W // d, R): the mean of each d x d block, as the network's
    pooling floors the size."""
    h, w = masks.shape[0] // downsample, masks.shape[1] // downsample
    blocks = masks[: h * downsample, : w * downsample].reshape(h, downsample, w, downsample, -1)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def eroded(masks: np.ndarray) -> np.ndarray:
    """Each region shrunk by one position (the minimum over its 3 x 3 neighbourhood; the image's
    border does not erode), or left as it is where that would empty it."""
    h, w = masks.shape[:2]
    padded = np.pad(masks, ((1, 1), (1, 1), (0, 0)), mode="edge")
    shrunk = np.minimum.reduce([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)])
    empty = shrunk.reshape(-1, masks.shape[-1]).max(axis=0) <= 0
    shrunk[..., empty] = masks[..., empty]
    return shrunk


def layer_masks(masks: np.ndarray, downsample: int) -> np.ndarray:
    """The masks as a layer `downsample` times smaller than the image reads them: (1, h, w, R)."""
    return eroded(pooled(masks, downsample))[np.newaxis]


def styled(masks: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels some mask covers; the others are content-only and keep the photo."""
    return masks.max(axis=-1) > 0
