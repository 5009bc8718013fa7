"""Each loss against a plain NumPy transcription of the article's formulas."""

import numpy as np
import pytest
import tensorflow as tf

from nst import losses

pytestmark = pytest.mark.kernels  # also run under the oneDNN emulations (make test)


def np_gram(x):
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    return flat.T @ flat


def np_style_loss(style, combination, height, width):
    s, c = np_gram(style), np_gram(combination)
    return np.sum((s - c) ** 2) / (4.0 * 3**2 * (height * width) ** 2)


def np_tv(x):
    x = x.astype(np.float64)
    a = (x[:, :-1, :-1, :] - x[:, 1:, :-1, :]) ** 2
    b = (x[:, :-1, :-1, :] - x[:, :-1, 1:, :]) ** 2
    return np.sum((a + b) ** 1.25)


def test_gram_matches_numpy(rng):
    x = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
    np.testing.assert_allclose(losses.gram_matrix(tf.constant(x)).numpy(), np_gram(x[0]), rtol=1e-5)


def test_gram_is_symmetric_positive_semidefinite(rng):
    g = losses.gram_matrix(tf.constant(rng.normal(size=(1, 6, 6, 5)).astype(np.float32))).numpy()
    np.testing.assert_allclose(g, g.T, rtol=1e-6)
    assert np.linalg.eigvalsh(g.astype(np.float64)).min() > -1e-3


def test_content_loss_matches_numpy(rng):
    a, b = rng.normal(size=(2, 1, 4, 6, 3)).astype(np.float32)
    expected = np.sum((a.astype(np.float64) - b) ** 2)
    assert losses.content_loss(tf.constant(a), tf.constant(b)).numpy() == pytest.approx(expected, rel=1e-5)


def test_style_loss_uses_the_articles_normalisation(rng):
    style, comb = rng.normal(size=(2, 1, 3, 5, 8)).astype(np.float32)
    height, width = 24, 40  # the image's size, not the layer's: the article's choice
    got = losses.style_layer_loss(
        losses.gram_matrix(tf.constant(comb)), losses.gram_matrix(tf.constant(style)), losses.style_normaliser(height, width)
    ).numpy()
    assert got == pytest.approx(np_style_loss(style[0], comb[0], height, width), rel=1e-5)


def test_total_variation_matches_numpy(rng):
    x = (rng.uniform(0, 255, size=(1, 9, 11, 3)) - 128).astype(np.float32)
    assert losses.total_variation_loss(tf.constant(x)).numpy() == pytest.approx(np_tv(x), rel=1e-5)


def test_total_variation_of_a_flat_image_is_zero():
    assert losses.total_variation_loss(tf.fill((1, 8, 8, 3), 3.0)).numpy() == 0.0


def gradient_of(fn, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return tape.gradient(value, x)


def test_gram_gradient_matches_numpy(rng):
    """d/dF of sum(W * gram(F)) is F (W + W^T), for any W: the written-out gradient."""
    features = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
    weights = rng.normal(size=(4, 4)).astype(np.float32)
    got = gradient_of(lambda f: tf.reduce_sum(weights * losses.gram_matrix(f)), features).numpy()
    flat = features.reshape(-1, 4).astype(np.float64)
    np.testing.assert_allclose(got.reshape(-1, 4), flat @ (weights + weights.T), rtol=1e-5, atol=1e-5)


def test_gram_of_bfloat16_maps_sums_in_float32_and_returns_a_bfloat16_gradient(rng):
    features = tf.cast(rng.normal(size=(1, 64, 64, 8)).astype(np.float32), tf.bfloat16)
    exact = np_gram(features.numpy().astype(np.float32)[0])  # the bfloat16 values, summed in float64
    gram = losses.gram_matrix(features)
    assert gram.dtype == tf.float32
    # 4096 products per entry: a bfloat16 sum would be off by ~1e-2, float32 by ~1e-6
    np.testing.assert_allclose(gram.numpy(), exact, rtol=1e-5, atol=1e-3)
    weights = rng.normal(size=(8, 8)).astype(np.float32)
    got = gradient_of(lambda f: tf.reduce_sum(weights * losses.gram_matrix(f)), features)
    assert got.dtype == tf.bfloat16
    expected = features.numpy().astype(np.float64).reshape(-1, 8) @ (weights + weights.T)
    # bfloat16 keeps 8 bits: each entry within ~1 % of the largest
    np.testing.assert_allclose(got.numpy().astype(np.float64).reshape(-1, 8), expected, rtol=1e-2,
                               atol=1e-2 * np.abs(expected).max())


def test_total_variation_gradient_matches_numpy_finite_differences(rng):
    x = (rng.uniform(0, 255, size=(1, 6, 7, 3)) - 128).astype(np.float32)
    got = gradient_of(losses.total_variation_loss, x).numpy().astype(np.float64)
    numeric = np.zeros_like(got)
    step = 1e-3
    for index in np.ndindex(x.shape):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[index] += step
        down[index] -= step
        numeric[index] = (np_tv(up) - np_tv(down)) / (2 * step)
    np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-3)
