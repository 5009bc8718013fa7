"""The article's losses, written once for every backend: each takes the backend's `ops` first
(nst/backends: `backend.ops`, or `self.ops` in a term).

Names and normalisations follow the seed article (Keras, Gatys et al.):

* content loss: ``sum((F - P)^2)`` between feature maps of the image and the content;
* Gram matrix: ``F^T F`` of the (H·W, C) feature matrix, unnormalised;
* style loss of one layer: ``sum((S - C)^2) / (4 · channels² · size²)`` where the article
  fixed ``channels = 3`` and ``size = H·W`` of the *image*, not of the layer;
* total variation: ``sum((a + b)^1.25)`` over squared vertical and horizontal differences.

Each is checked against a plain NumPy reference in tests/test_losses.py, on both backends.
"""

from __future__ import annotations

ARTICLE_CHANNELS = 3


def gram_matrix(ops, features):
    """(1, H, W, C) or (H, W, C) activations -> (C, C) unnormalised float32 Gram matrix.

    The sum over positions is always float32, whatever the activations' precision. The
    gradient is one matrix product, ``F (dG + dG^T)``, in the activations' own precision:
    a generic matrix-product gradient would build two (one per operand), and in bfloat16 the
    product feeds the bfloat16 backward pass without a float32 detour (docs/performance.md).
    """

    def forward(features):
        flat = ops.reshape(features, (-1, features.shape[-1]))
        wide = ops.float32_of(flat)

        def gradient(upstream):
            symmetric = ops.cast_like(upstream + ops.transpose(upstream), flat)
            return ops.reshape_like(ops.matmul(flat, symmetric), features)

        return ops.matmul(wide, wide, transpose_a=True), gradient

    return ops.custom_gradient(forward)(features)


def content_loss(ops, features, target):
    """Summed in float32 whatever the features' precision."""
    return ops.sum(ops.square(ops.float32_of(features) - ops.float32_of(target)))


def style_normaliser(ops, height, width):
    """The article's denominator ``4 · 3² · (H·W)²`` for an image of H x W pixels."""
    size = ops.scalar(height) * ops.scalar(width)
    return 4.0 * ARTICLE_CHANNELS**2 * ops.square(size)


def style_layer_loss(ops, gram, target_gram, normaliser):
    return ops.sum(ops.square(target_gram - gram)) / normaliser


def total_variation_loss(ops, image):
    """(1, H, W, 3) -> ``sum((a + b)^1.25)``, a and b the squared neighbour differences.

    The gradient is written out: each difference's share goes back to its two pixels with
    three zero-pads, where a library's own would scatter through three generic slice
    gradients and a power (ten times slower in TensorFlow, docs/performance.md).
    """

    def forward(image):
        corner = image[:, :-1, :-1, :]
        down = corner - image[:, 1:, :-1, :]
        right = corner - image[:, :-1, 1:, :]
        summed = ops.square(down) + ops.square(right)
        fourth_root = ops.sqrt(ops.sqrt(summed))  # s^1.25 = s · s^0.25: two square roots, no pow

        def gradient(upstream):
            # d(s^1.25) = 1.25 s^0.25 ds, and ds = 2 (down d(down) + right d(right))
            share = upstream * 2.5 * fourth_root
            down_share, right_share = share * down, share * right
            return (
                ops.pad(down_share + right_share, [[0, 0], [0, 1], [0, 1], [0, 0]])
                - ops.pad(down_share, [[0, 0], [1, 0], [0, 1], [0, 0]])
                - ops.pad(right_share, [[0, 0], [0, 1], [1, 0], [0, 0]])
            )

        return ops.sum(summed * fourth_root), gradient

    return ops.custom_gradient(forward)(image)
