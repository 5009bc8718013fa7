"""The style at the first stage's scale, matched again on every larger stage (multi-scale Gram loss).

A coarse-to-fine stage sees the style image enlarged with it, so its Gram matrices describe
texture at the stage's own, finer scale, and nothing holds the look the small first stage gave
the picture as a whole. Measured on the print preset (hugo x wave, docs/print_size.md): the
result's style loss at 512 px doubled at the 1024 and 2048 px stages and rose again at 4096.
So each later stage also matches the style of its image shrunk to the first stage's size
against the style image at that size: Gram losses over an image pyramid, as in Snelgrove,
"High-resolution multi-scale neural texture synthesis" (SIGGRAPH Asia 2017).

The image is shrunk as `nst.images.resize` shrinks one (Pillow's Lanczos filter after its box
`reduce` by whole factors, `reducing_gap` 3), so what is held is what the first stage, `nst
loss --size 512` or a viewer showing the print small would see; a plain block mean held its
own view's style but let the Lanczos view's rise. Shrinking is linear and separable: one sparse
matrix per axis, its transpose carrying the gradient back. The extra cost is one evaluation at
the first stage's size and four sparse products.

The coarse loss is added into the `style` loss the stage reports (history, log lines).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .images import REDUCING_GAP, preprocess
from .inputs import StageImages
from .loss_values import Losses
from .terms import StyleTerm

STYLE = StyleTerm.name
SUPPORT = 3.0  # Lanczos-3
BAND_ROWS = 512  # rows of the gradient made at a time: a band's temporary, not a whole print-size array


def lanczos(x: np.ndarray) -> np.ndarray:
    """The Lanczos-3 kernel: sinc(x) sinc(x / 3) inside |x| < 3."""
    return np.where(np.abs(x) < SUPPORT, np.sinc(x) * np.sinc(x / SUPPORT), 0.0)


def lanczos_matrix(pixels: int, extent: float, out: int) -> sparse.csr_matrix:
    """(out, pixels): Lanczos resampling of the span [0, extent) of `pixels` samples to `out`,
    widened by the scale where it shrinks (antialiased), each row's weights summing to 1."""
    scale = extent / out
    width = max(scale, 1.0)
    support = SUPPORT * width
    rows, cols, values = [], [], []
    for i in range(out):
        centre = (i + 0.5) * scale
        first, last = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), pixels)
        taps = np.arange(first, last)
        weights = lanczos((taps - centre + 0.5) / width)
        total = weights.sum()
        rows += [i] * len(taps)
        cols += list(taps)
        values += list(weights / total if total else weights)
    return sparse.csr_matrix((np.asarray(values, np.float64), (rows, cols)), shape=(out, pixels))


def box_matrix(pixels: int, factor: int) -> sparse.csr_matrix:
    """(ceil(pixels / factor), pixels): the mean of each run of `factor` samples (a shorter last run)."""
    blocks = -(-pixels // factor)
    index = np.arange(pixels)
    counts = np.minimum(factor, pixels - (index // factor) * factor)
    return sparse.csr_matrix((1.0 / counts, (index // factor, index)), shape=(blocks, pixels))


def shrink_matrix(pixels: int, out: int) -> sparse.csr_matrix:
    """(out, pixels), float32: one axis shrunk as Pillow's resize with LANCZOS and reducing_gap shrinks it."""
    factor = int(pixels / out / REDUCING_GAP) or 1
    if factor == 1:
        return lanczos_matrix(pixels, pixels, out).astype(np.float32)
    return (lanczos_matrix(-(-pixels // factor), pixels / factor, out) @ box_matrix(pixels, factor)).astype(np.float32)


class Shrink:
    """(1, H, W, C) images to (1, h, w, C), and gradients back: on the host with scipy's sparse
    matrices, or on the PyTorch backend's device with its sparse (CSR) ones, dense where the device
    has no sparse CSR tensors (Apple's MPS; four matrices of 512 x 8192 float32 values, 64 MiB, at 8192 px)."""

    def __init__(self, shape: tuple[int, int], out: tuple[int, int], vectors=None):
        self.shape, self.out = tuple(shape), tuple(out)
        rows, cols = shrink_matrix(shape[0], out[0]), shrink_matrix(shape[1], out[1])
        rows_t = rows.T.tocsr()
        bands = [rows_t[first:first + BAND_ROWS] for first in range(0, shape[0], BAND_ROWS)]
        self.on_device = vectors is not None and vectors.name == "torch"
        if self.on_device:
            to_device = _torch_dense if "sparse_csr" in vectors.lacks else _torch_csr
            convert = lambda m: to_device(m, vectors.device)  # noqa: E731
        else:
            convert = lambda m: m  # noqa: E731
        self.rows, self.cols, self.cols_t = convert(rows), convert(cols), convert(cols.T.tocsr())
        self.bands = [convert(b) for b in bands]

    def __call__(self, image):
        (h, w), (height, width), channels = self.out, self.shape, image.shape[-1]
        across = self.rows @ image[0].reshape(height, width * channels)  # (h, W * C)
        across = across.reshape(h, width, channels).transpose(1, 0) if self.on_device else \
            across.reshape(h, width, channels).transpose(1, 0, 2)
        down = (self.cols @ across.reshape(width, h * channels)).reshape(w, h, channels)
        if self.on_device:
            return down.transpose(1, 0).contiguous()[None]
        return np.ascontiguousarray(down.transpose(1, 0, 2), np.float32)[np.newaxis]

    def add_gradient(self, grad, small_grad) -> None:
        """Add into `grad` ((1, H, W, C)) what `small_grad` ((1, h, w, C)) is with respect to the image."""
        (h, w), (height, width), channels = self.out, self.shape, grad.shape[-1]
        if self.on_device:
            wide = self.cols_t @ small_grad[0].transpose(1, 0).reshape(w, h * channels)  # (W, h * C)
            wide = wide.reshape(width, h, channels).transpose(1, 0).reshape(h, width * channels)
        else:
            wide = self.cols_t @ small_grad[0].transpose(1, 0, 2).reshape(w, h * channels)
            wide = np.ascontiguousarray(wide.reshape(width, h, channels).transpose(1, 0, 2)).reshape(h, width * channels)
        for k, band in enumerate(self.bands):
            first = k * BAND_ROWS
            last = min(first + BAND_ROWS, height)
            grad[0, first:last] += (band @ wide).reshape(last - first, width, channels)


def _torch_dense(matrix: sparse.csr_matrix, device):
    """A scipy sparse matrix as a dense float32 PyTorch tensor on `device`."""
    import torch

    return torch.as_tensor(matrix.toarray().astype(np.float32), device=device)


def _torch_csr(matrix: sparse.csr_matrix, device):
    """A scipy CSR matrix as PyTorch's, float32, on `device`."""
    import warnings

    import torch

    matrix = matrix.tocsr().astype(np.float32)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the products used here are its stable ones
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.as_tensor(matrix.indptr, dtype=torch.int64),
                                       torch.as_tensor(matrix.indices, dtype=torch.int64),
                                       torch.as_tensor(matrix.data), size=matrix.shape, device=device,
                                       check_invariants=False)  # built from a valid scipy matrix


class CoarseStyle:
    """A stage's objective (whole or tiled) plus the style loss of its image shrunk to the first
    stage's size, which the first stage's objective evaluates against the first stage's styles."""

    @property
    def backend(self):
        return self.objective.backend

    def __init__(self, objective, first_objective, first_images: StageImages, stage_shape: tuple[int, int],
                 settings):
        self.objective, self.first_objective = objective, first_objective
        self.shrink = Shrink(stage_shape, first_images.shape, objective.backend.vectors)
        only_style = {name: 0.0 for name in settings.loss_weights()}
        only_style[STYLE] = settings.style_weight * settings.coarse_style
        self.targets = first_objective.targets(
            preprocess(first_images.content_net), [preprocess(s) for s in first_images.style_nets],
            settings.blend(len(first_images.style_nets)), only_style, first_images.guides)

    def value_and_grad(self, image, targets) -> tuple[Losses, object]:
        image = self.backend.vectors.from_host(image)
        losses, grad = self.objective.value_and_grad(image, targets)
        coarse, coarse_grad = self.first_objective.value_and_grad(self.shrink(image), self.targets)
        self.shrink.add_gradient(grad, coarse_grad)
        return self._added(losses, coarse), grad

    def value(self, image, targets) -> Losses:
        image = self.backend.vectors.from_host(image)
        return self._added(self.objective.value(image, targets),
                           self.first_objective.value(self.shrink(image), self.targets))

    @staticmethod
    def _added(losses: Losses, coarse: Losses) -> Losses:
        extra = coarse[STYLE]
        return Losses(losses.total + extra, {**losses.parts, STYLE: losses.parts[STYLE] + extra})
