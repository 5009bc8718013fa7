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

from .quiet import tf

TV_EXPONENT = 1.25
ARTICLE_CHANNELS = 3


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """(1, H, W, C) or (H, W, C) activations -> (C, C) unnormalised Gram matrix."""
    channels = tf.shape(features)[-1]
    flat = tf.reshape(features, (-1, channels))
    return tf.matmul(flat, flat, transpose_a=True)


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.square(features - target))


def style_normaliser(height, width) -> tf.Tensor:
    """The article's denominator ``4 · 3² · (H·W)²`` for an image of H x W pixels."""
    size = tf.cast(height, tf.float32) * tf.cast(width, tf.float32)
    return 4.0 * ARTICLE_CHANNELS**2 * tf.square(size)


def style_layer_loss(gram: tf.Tensor, target_gram: tf.Tensor, normaliser: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.square(target_gram - gram)) / normaliser


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """(1, H, W, 3) -> ``sum((a + b)^1.25)``, a and b the squared neighbour differences."""
    corner = image[:, :-1, :-1, :]
    a = tf.square(corner - image[:, 1:, :-1, :])
    b = tf.square(corner - image[:, :-1, 1:, :])
    return tf.reduce_sum(tf.pow(a + b, TV_EXPONENT))
