"""The style at the first stage's scale on larger stages (nst/coarse_style.py), against plain NumPy
references and the real network."""

from __future__ import annotations

import numpy as np
import pytest

from nst import coarse_style
from nst.coarse_style import CoarseStyle, add_block_gradient, block_mean
from nst.engine import engine_for
from nst.evaluate import image_losses
from nst.inputs import Inputs
from nst.settings import TransferSettings
from nst.transfer import stylize

SHALLOW = {"content_layers": ["block2_conv2"], "style_layers": ["block1_conv2", "block2_conv2"]}


def averaging(length: int, k: int) -> np.ndarray:
    """(blocks, length): row b averages pixels b*k .. b*k+k-1 (fewer in a last, partial block)."""
    blocks = -(-length // k)
    matrix = np.zeros((blocks, length))
    for b in range(blocks):
        matrix[b, b * k:min(length, b * k + k)] = 1.0 / (min(length, b * k + k) - b * k)
    return matrix


@pytest.mark.parametrize("shape, k", [((1, 150, 37, 3), 2), ((1, 9, 10, 2), 4), ((1, 8, 8, 3), 1)])
def test_the_block_mean_and_its_gradient_equal_averaging_matrices(shape, k, rng, monkeypatch):
    monkeypatch.setattr(coarse_style, "BAND_BLOCKS", 16)  # 75 block rows: the gradient is spread in five bands
    x = rng.normal(size=shape).astype(np.float32)
    rows, cols = averaging(shape[1], k), averaging(shape[2], k)
    expected = np.einsum("ah,bw,nhwc->nabc", rows, cols, x.astype(np.float64))
    found, row_counts, col_counts = block_mean(x, k)
    assert found.dtype == np.float32 and found.shape == expected.shape
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6)
    upstream = rng.normal(size=expected.shape).astype(np.float32)
    grad = np.ones(shape, np.float32)  # added into, not overwritten
    add_block_gradient(grad, upstream, row_counts, col_counts)
    np.testing.assert_allclose(grad - 1, np.einsum("ah,bw,nabc->nhwc", rows, cols, upstream.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.kernels
@pytest.mark.parametrize("tile", [0, 64])
def test_a_larger_stage_adds_the_style_loss_of_its_block_mean_and_that_losss_gradient(small_images, tile):
    """A 150 x 100 stage of a run whose first stage was 50 px: its loss is its own plus the style loss of
    the image averaged in 3 x 3 blocks (the last row of blocks one pixel high) against the 50 px style,
    weighted sw x coarse_style; its gradient is its own plus that loss's through the averaging (whole
    or tiled, the same)."""
    settings = TransferSettings(size=150, scales=[50], coarse_style=0.5, precision="float32", **SHALLOW)
    inputs = Inputs.load(small_images["wide"], [small_images["style"]], settings)
    first, stage = inputs.stage(settings, 50), inputs.stage(settings, 150)
    engine = engine_for(settings, "float32")
    fine = engine.objective_for(tile)
    x = (np.random.default_rng(0).uniform(0, 255, (1, *stage.shape, 3)) - 128).astype(np.float32)
    fine_targets = stage.targets(fine, settings)
    losses, grad = CoarseStyle(fine, engine.objective, first, stage, settings, 3).value_and_grad(x, fine_targets)

    own, own_grad = engine.objective.value_and_grad(x, stage.targets(engine.objective, settings))
    rows, cols = averaging(100, 3), averaging(150, 3)
    pooled = np.einsum("ah,bw,nhwc->nabc", rows, cols, x.astype(np.float64)).astype(np.float32)
    style_only = TransferSettings(size=50, content_weight=0, tv_weight=0, style_weight=5.0 * 0.5,
                                  precision="float32", **SHALLOW)
    pooled_stage = Inputs.load(small_images["wide"], [small_images["style"]], style_only).stage(style_only, 50)
    assert pooled_stage.style_nets[0].shape == first.style_nets[0].shape
    from nst.images import preprocess

    pooled_targets = engine.objective.targets(preprocess(stage.content_net)[:, ::3, ::3],
                                              [preprocess(first.style_nets[0])], [1.0],
                                              style_only.weights_by_term(), {})
    coarse, coarse_grad = engine.objective.value_and_grad(pooled, pooled_targets)
    assert coarse["content"] == 0 and coarse["style"] > 0.1 * own["style"]
    assert losses["style"] == pytest.approx(own["style"] + coarse["style"], rel=1e-4)
    assert losses.total == pytest.approx(own.total + coarse["style"], rel=1e-4)
    assert losses["content"] == pytest.approx(own["content"], rel=1e-4)
    expected = own_grad + np.einsum("ah,bw,nabc->nhwc", rows, cols, coarse_grad.astype(np.float64))
    assert np.linalg.norm(grad - expected) / np.linalg.norm(expected) < 1e-4


def test_a_print_run_keeps_the_first_stages_style_with_coarse_style(tmp_path, small_images, record_property):
    """Two stages, 64 then 128 px, the style growing with them: without coarse_style the 128 px stage lets
    the picture's style at 64 px drift (the 512 -> 4096 px print runs' style loss at 512 px doubled each
    stage, docs/print_size.md); with it, the result's style loss at 64 px is lower."""
    found = {}
    for weight in (0.0, 1.0):
        out = tmp_path / f"coarse_{weight}.png"
        stylize(small_images["content"], [small_images["style"]],
                TransferSettings(size=128, scales=[64], scale_evals=[30], iterations=1, evals_per_iteration=20,
                                 init="content", optimizer="lbfgs32", lbfgs_restarts=False, lbfgs_bounds=True,
                                 lbfgs_step=1.0, stage_balance=True, coarse_style=weight, seed=0,
                                 precision="float32"), output=out, progress=False)
        found[weight] = image_losses(small_images["content"], [small_images["style"]], [out],
                                     TransferSettings(size=64))[0]["style"]
    record_property("style loss at 64 px of a 64 -> 128 px run, coarse_style 0 / 1",
                    f"{found[0.0]:.3e} / {found[1.0]:.3e}")
    assert found[1.0] < 0.8 * found[0.0], found
