"""Each loss against a plain NumPy transcription of the article's formulas, on every backend: the
maths is written once (nst/losses.py, with the backend's `ops`), so each backend's run of it must
give the NumPy numbers."""

import numpy as np
import pytest

from nst import losses
from nst.backends import backend_for, installed

pytestmark = pytest.mark.kernels  # also run under the oneDNN emulations (make test)

BACKENDS = pytest.mark.parametrize("name", ["tensorflow", "torch"])


@pytest.fixture
def backend(name):
    if not installed(name):
        pytest.skip(f"{name} is not installed here")
    return backend_for(name, "cpu")


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


def host(backend, x):
    return np.asarray(backend.vectors.to_host(backend.vector(x)), np.float64)


def gradient_of(backend, fn, x):
    """d fn / d x through the backend's own differentiation (as the objective takes it)."""
    _, (grad,) = backend.gradient(fn, [x])
    return host(backend, grad)


@BACKENDS
def test_gram_matches_numpy(backend, rng):
    x = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
    np.testing.assert_allclose(host(backend, losses.gram_matrix(backend.ops, backend.tensor(x))), np_gram(x[0]),
                               rtol=1e-5)


@BACKENDS
def test_gram_is_symmetric_positive_semidefinite(backend, rng):
    g = host(backend, losses.gram_matrix(backend.ops, backend.tensor(rng.normal(size=(1, 6, 6, 5)).astype(np.float32))))
    np.testing.assert_allclose(g, g.T, rtol=1e-6)
    assert np.linalg.eigvalsh(g).min() > -1e-3


@BACKENDS
def test_content_loss_matches_numpy(backend, rng):
    a, b = rng.normal(size=(2, 1, 4, 6, 3)).astype(np.float32)
    expected = np.sum((a.astype(np.float64) - b) ** 2)
    got = backend.ops.to_float(losses.content_loss(backend.ops, backend.tensor(a), backend.tensor(b)))
    assert got == pytest.approx(expected, rel=1e-5)


@BACKENDS
def test_style_loss_uses_the_articles_normalisation(backend, rng):
    style, comb = rng.normal(size=(2, 1, 3, 5, 8)).astype(np.float32)
    height, width = 24, 40  # the image's size, not the layer's: the article's choice
    ops = backend.ops
    got = ops.to_float(losses.style_layer_loss(ops, losses.gram_matrix(ops, backend.tensor(comb)),
                                               losses.gram_matrix(ops, backend.tensor(style)),
                                               losses.style_normaliser(ops, height, width)))
    assert got == pytest.approx(np_style_loss(style[0], comb[0], height, width), rel=1e-5)


@BACKENDS
def test_total_variation_matches_numpy(backend, rng):
    x = (rng.uniform(0, 255, size=(1, 9, 11, 3)) - 128).astype(np.float32)
    got = backend.ops.to_float(losses.total_variation_loss(backend.ops, backend.tensor(x)))
    assert got == pytest.approx(np_tv(x), rel=1e-5)


@BACKENDS
def test_total_variation_of_a_flat_image_is_zero(backend):
    flat = backend.tensor(np.full((1, 8, 8, 3), 3.0, np.float32))
    assert backend.ops.to_float(losses.total_variation_loss(backend.ops, flat)) == 0.0


@BACKENDS
def test_gram_gradient_matches_numpy(backend, rng):
    """d/dF of sum(W * gram(F)) is F (W + W^T), for any W: the written-out gradient."""
    features = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
    weights = backend.tensor(rng.normal(size=(4, 4)).astype(np.float32))
    ops = backend.ops
    got = gradient_of(backend, lambda f: ops.sum(weights * losses.gram_matrix(ops, f)), features)
    flat = features.reshape(-1, 4).astype(np.float64)
    w = host(backend, weights)
    np.testing.assert_allclose(got.reshape(-1, 4), flat @ (w + w.T), rtol=1e-5, atol=1e-5)


@BACKENDS
def test_gram_of_bfloat16_maps_sums_in_float32_and_returns_a_bfloat16_gradient(backend, rng):
    ops = backend.ops
    values = backend.tensor(rng.normal(size=(1, 64, 64, 8)).astype(np.float32))
    if backend.name == "tensorflow":
        from nst.quiet import tf

        features = tf.cast(values, tf.bfloat16)
    else:
        import torch

        features = values.to(torch.bfloat16)
    exact = np_gram(host(backend, ops.float32_of(features))[0])  # the bfloat16 values, summed in float64
    gram = losses.gram_matrix(ops, features)
    assert "float32" in str(gram.dtype)
    # 4096 products per entry: a bfloat16 sum would be off by ~1e-2, float32 by ~1e-6
    np.testing.assert_allclose(host(backend, gram), exact, rtol=1e-5, atol=1e-3)
    weights = backend.tensor(rng.normal(size=(8, 8)).astype(np.float32))
    _, (got,) = backend.gradient(lambda f: ops.sum(weights * losses.gram_matrix(ops, f)), [features])
    assert "bfloat16" in str(got.dtype)
    w = host(backend, weights)
    expected = host(backend, ops.float32_of(features)).reshape(-1, 8) @ (w + w.T)
    # bfloat16 keeps 8 bits: each entry within ~1 % of the largest
    np.testing.assert_allclose(host(backend, ops.float32_of(got)).reshape(-1, 8), expected, rtol=1e-2,
                               atol=1e-2 * np.abs(expected).max())


@BACKENDS
def test_total_variation_gradient_matches_numpy_finite_differences(backend, rng):
    x = (rng.uniform(0, 255, size=(1, 6, 7, 3)) - 128).astype(np.float32)
    got = gradient_of(backend, lambda image: losses.total_variation_loss(backend.ops, image), x)
    numeric = np.zeros_like(got)
    step = 1e-3
    for index in np.ndindex(x.shape):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[index] += step
        down[index] -= step
        numeric[index] = (np_tv(up) - np_tv(down)) / (2 * step)
    np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-3)
