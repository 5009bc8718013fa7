"""The style at the first stage's scale, matched again on every larger stage (multi-scale Gram loss).

A coarse-to-fine stage sees the style image enlarged with it, so its Gram matrices describe
texture at the stage's own, finer scale, and nothing holds the look the small first stage gave
the picture as a whole. Measured on the print preset (hugo x wave, docs/print_size.md): the
result's style loss at 512 px doubled at the 1024 and 2048 px stages and rose again at 4096.
So each later stage also matches the style on its image averaged down, in k x k blocks, to
about the first stage's size, against the style image at the first stage's size: Gram losses
over an image pyramid, as in Snelgrove, "High-resolution multi-scale neural texture synthesis"
(SIGGRAPH Asia 2017). The block mean is linear, so its gradient is the coarse image's gradient
shared evenly over each block; the extra cost is one evaluation at the first stage's size.

The coarse loss is added into the `style` loss the stage reports (history, log lines).
"""

from __future__ import annotations

import numpy as np

from .inputs import StageImages, resized
from .loss_values import Losses

STYLE = "style"
BAND_BLOCKS = 64  # block rows spread at a time: a band's temporary, not a whole print-size array


def block_mean(image: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(1, H, W, C) averaged over k x k blocks (the last row and column of blocks may be smaller),
    with each block row's and column's pixel counts."""
    _, h, w, _ = image.shape
    rows, cols = np.arange(0, h, k), np.arange(0, w, k)
    sums = np.add.reduceat(np.add.reduceat(image, rows, axis=1), cols, axis=2)
    row_counts, col_counts = np.diff(np.append(rows, h)), np.diff(np.append(cols, w))
    sums /= (row_counts[:, None, None] * col_counts[None, :, None]).astype(np.float32)
    return sums.astype(np.float32, copy=False), row_counts, col_counts


def add_block_gradient(grad: np.ndarray, coarse_grad: np.ndarray, row_counts: np.ndarray,
                       col_counts: np.ndarray) -> None:
    """Add into `grad` the gradient that flows back through `block_mean`: each block's share, evenly."""
    shares = coarse_grad / (row_counts[:, None, None] * col_counts[None, :, None]).astype(np.float32)
    starts = np.concatenate([[0], np.cumsum(row_counts)])
    for first in range(0, len(row_counts), BAND_BLOCKS):
        last = min(first + BAND_BLOCKS, len(row_counts))
        band = np.repeat(np.repeat(shares[:, first:last], col_counts, axis=2), row_counts[first:last], axis=1)
        grad[:, starts[first]:starts[last]] += band


def block_factor(size: int, first_size: int) -> int:
    """Pixels per block side that bring a stage of longest side `size` to about `first_size`."""
    return max(1, round(size / first_size))


class CoarseStyle:
    """A stage's objective (whole or tiled) plus the style loss of its block-mean image, which the
    first stage's objective evaluates against the style images at the first stage's size."""

    def __init__(self, objective, first_objective, first_images: StageImages, stage_images: StageImages, settings,
                 factor: int):
        from .images import preprocess

        self.objective, self.first_objective, self.factor = objective, first_objective, factor
        content, _, _ = block_mean(preprocess(stage_images.content_net), factor)
        h, w = content.shape[1:3]
        only_style = {name: 0.0 for name in settings.weights_by_term()}
        only_style[STYLE] = settings.style_weight * settings.coarse_style
        self.targets = first_objective.targets(
            content, [preprocess(s) for s in first_images.style_nets], settings.blend(len(first_images.style_nets)),
            only_style, {name: resized(g, h, w) for name, g in stage_images.guides.items()})

    def value_and_grad(self, image: np.ndarray, targets) -> tuple[Losses, np.ndarray]:
        losses, grad = self.objective.value_and_grad(image, targets)
        coarse, row_counts, col_counts = block_mean(image, self.factor)
        coarse_losses, coarse_grad = self.first_objective.value_and_grad(coarse, self.targets)
        add_block_gradient(grad, coarse_grad, row_counts, col_counts)
        return self._added(losses, coarse_losses), grad

    def value(self, image: np.ndarray, targets) -> Losses:
        coarse = block_mean(image, self.factor)[0]
        return self._added(self.objective.value(image, targets), self.first_objective.value(coarse, self.targets))

    @staticmethod
    def _added(losses: Losses, coarse: Losses) -> Losses:
        extra = coarse[STYLE]
        return Losses(losses.total + extra, {**losses.parts, STYLE: losses.parts[STYLE] + extra})
