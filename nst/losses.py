"""The article's losses as pure TensorFlow functions.

Names and normalisations follow the seed article (Keras, Gatys et al.):

* content loss: ``sum((F - P)^2)`` between feature maps of the image and the content;
* Gram matrix: ``F^T F`` of the (H·W, C) feature matrix, unnormalised;
* style loss of one layer: ``sum((S - C)^2) / (4 · channels² · size²)`` where the article
  fixed ``channels = 3`` and ``size = H·W`` of the *image*, not of the layer;
* total variation: ``sum((a + b)^1.25)`` over squared vertical and horizontal differences.

Each is checked against a plain NumPy reference in tests/test_losses.py.
"""

from __future__ import annotations

from .quiet import custom_gradient, tf

ARTICLE_CHANNELS = 3


@custom_gradient
def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """(1, H, W, C) or (H, W, C) activations -> (C, C) unnormalised float32 Gram matrix.

    The sum over positions is always float32, whatever the activations' precision. The
    gradient is one matrix product, ``F (dG + dG^T)``, in the activations' own precision:
    TensorFlow's MatMul gradient would build two (one per operand), and in bfloat16 the
    product feeds the bfloat16 backward pass without a float32 detour (together ~6 % of a
    512² bfloat16 evaluation, measured).
    """
    shape = tf.shape(features)
    flat = tf.reshape(features, (-1, shape[-1]))
    wide = tf.cast(flat, tf.float32)

    def gradient(upstream):
        symmetric = tf.cast(upstream + tf.transpose(upstream), features.dtype)
        return tf.reshape(tf.matmul(flat, symmetric), shape)

    return tf.matmul(wide, wide, transpose_a=True), gradient


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Summed in float32 whatever the features' precision."""
    return tf.reduce_sum(tf.square(tf.cast(features, tf.float32) - tf.cast(target, tf.float32)))


def style_normaliser(height, width) -> tf.Tensor:
    """The article's denominator ``4 · 3² · (H·W)²`` for an image of H x W pixels."""
    size = tf.cast(height, tf.float32) * tf.cast(width, tf.float32)
    return 4.0 * ARTICLE_CHANNELS**2 * tf.square(size)


def style_layer_loss(gram: tf.Tensor, target_gram: tf.Tensor, normaliser: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.square(target_gram - gram)) / normaliser


@custom_gradient
def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """(1, H, W, 3) -> ``sum((a + b)^1.25)``, a and b the squared neighbour differences.

    The gradient is written out: each difference's share goes back to its two pixels with
    three zero-pads, where TensorFlow's own would scatter through three generic slice
    gradients and a power (ten times slower, docs/performance.md).
    """
    corner = image[:, :-1, :-1, :]
    down = corner - image[:, 1:, :-1, :]
    right = corner - image[:, :-1, 1:, :]
    summed = tf.square(down) + tf.square(right)
    fourth_root = tf.sqrt(tf.sqrt(summed))  # s^1.25 = s · s^0.25: two square roots, no pow

    def gradient(upstream):
        # d(s^1.25) = 1.25 s^0.25 ds, and ds = 2 (down d(down) + right d(right))
        share = upstream * 2.5 * fourth_root
        down_share, right_share = share * down, share * right
        return (
            tf.pad(down_share + right_share, [[0, 0], [0, 1], [0, 1], [0, 0]])
            - tf.pad(down_share, [[0, 0], [1, 0], [0, 1], [0, 0]])
            - tf.pad(right_share, [[0, 0], [0, 1], [1, 0], [0, 0]])
        )

    return tf.reduce_sum(summed * fourth_root), gradient
