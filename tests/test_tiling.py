"""Print size: the tiled objective equals the untiled one, seams included; memory plans; 16-bit output."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import estimate
from nst.backbones import halo_for, receptive_radius
from nst.engine import engine_for
from nst.errors import SettingsError
from nst.inputs import Inputs
from nst.settings import TransferSettings
from nst.terms import read_layers
from nst.tiling import tiles
from nst.transfer import stylize
from snakemake_runner import ROOT

pytestmark = pytest.mark.kernels

SHALLOW = dict(content_layers=["block2_conv2"], style_layers=["block1_conv2", "block2_conv2"])


def both(settings, small_images, size, tile, forward_tile=0, guides=None):
    """Untiled and tiled loss and gradient at one noise image (pass 1 in `forward_tile` px tiles)."""
    stage = Inputs.load(small_images["wide"], [small_images["style"]], settings, guides=guides).stage(settings, size)
    engine = engine_for(settings, "float32")
    x = (np.random.default_rng(0).uniform(0, 255, (1, *stage.shape, 3)) - 128).astype(np.float32)
    found = []
    for objective in (engine.objective, engine.objective_for(tile, forward_tile)):
        found.append(objective.value_and_grad(x, stage.targets(objective, settings)))
    return found, stage.shape


def relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_the_halo_covers_the_receptive_field():
    assert receptive_radius("vgg19", ["block5_conv3"]) == 117 and halo_for("vgg19", ["block5_conv3"]) == 128
    assert halo_for("vgg19", ["block2_conv2"]) == 16


def test_tiles_own_every_pixel_once_and_start_on_pooling_windows():
    layout = tiles(200, 150, 64, 16)
    owned = np.zeros((200, 150), int)
    for tile in layout:
        owned[tile.rows.core[0]:tile.rows.core[1], tile.columns.core[0]:tile.columns.core[1]] += 1
        assert tile.rows.halo[0] % 16 == 0 and tile.columns.halo[0] % 16 == 0
    assert (owned == 1).all() and len(layout) == 4 * 3


@pytest.mark.parametrize("forward_tile", [0, 80])
def test_tiled_loss_and_gradient_equal_the_untiled_ones_and_the_seams_do_not_show(small_images, forward_tile):
    """A shallow network (halo 16) at 192 x 128 in 32 px tiles: 24 tiles, 20 seams, every term;
    pass 1 in the same tiles, or in 80 px tiles whose seams are not pass 2's."""
    settings = TransferSettings(size=192, **SHALLOW)
    ((whole, g), (tiled, gt)), (h, w) = both(settings, small_images, 192, 32, forward_tile)
    for name in ("total", "content", "style", "tv"):
        assert tiled[name] == pytest.approx(whole[name], rel=1e-4), name
    assert relative(gt, g) < 1e-4
    seams = np.zeros((h, w), bool)
    for border in range(32, h, 32):
        seams[border - 2:border + 2, :] = True
    for border in range(32, w, 32):
        seams[:, border - 2:border + 2] = True
    assert relative(gt[0][seams], g[0][seams]) < 1e-4  # where tiles meet, too


def test_a_plugins_feature_reading_terms_tile_exactly(small_images, monkeypatch):
    """A plugin's terms (tests/plugins/feature_terms.py): a loss of per-channel sums (two passes) and a
    position-by-position comparison with the content (one pass), through no code that names them."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    settings = TransferSettings(size=192, **SHALLOW, plugins=["feature_terms"],
                                terms={"feature_mean": 1e3, "content_l1": 10.0})
    ((whole, g), (tiled, gt)), _ = both(settings, small_images, 192, 32, forward_tile=64)
    assert whole["feature_mean"] > 0 and whole["content_l1"] > 0
    for name in ("total", "content", "style", "tv", "feature_mean", "content_l1"):
        assert tiled[name] == pytest.approx(whole[name], rel=1e-4), name
    assert relative(gt, g) < 1e-4


def test_image_terms_are_summed_band_by_band_exactly(small_images):
    """Total variation and a video's temporal term (its guides a previous frame and its reliability),
    which tiled stages sum in bands of a tile's rows: at 200 x 133 in 32 px tiles the last band is
    5 rows, and the gradient where bands meet is the whole image's."""
    rng = np.random.default_rng(1)
    h, w = Image.open(small_images["wide"]).size[::-1]
    guides = {"previous": rng.uniform(0, 255, (h, w, 3)).astype(np.float32),
              "reliability": rng.uniform(0, 1, (h, w, 1)).astype(np.float32)}
    settings = TransferSettings(size=200, **SHALLOW, terms={"temporal": 1e-2})
    ((whole, g), (tiled, gt)), (height, _) = both(settings, small_images, 200, 32, guides=guides)
    assert height % 32 and whole["temporal"] > 0 and whole["tv"] > 0
    for name in ("total", "tv", "temporal"):
        assert tiled[name] == pytest.approx(whole[name], rel=1e-5), name
    borders = np.zeros(height, bool)
    for border in range(32, height, 32):
        borders[border - 2:border + 2] = True
    assert relative(gt[0][borders], g[0][borders]) < 1e-4


def test_the_article_network_tiled_equals_untiled(small_images):
    """VGG19 to block5_conv3 (halo 128) at 384 x 256 in 128 px tiles: the inner tiles' halos end inside
    the image; pass 1 in 256 px tiles."""
    settings = TransferSettings(size=384)
    ((whole, g), (tiled, gt)), _ = both(settings, small_images, 384, 128, forward_tile=256)
    assert tiled.total == pytest.approx(whole.total, rel=1e-4)
    assert relative(gt, g) < 1e-4


def test_the_terms_alone_say_which_layers_are_planned_for_a_plugin_reading_only_block5_conv3(small_images,
                                                                                             monkeypatch):
    """Shallow content and style layers, and a plugin term reading block5_conv3 only: the memory plan, a
    tile's halo, the smallest size and the time estimate reach block5_conv3, as the network does."""

    from nst.errors import ImageError

    monkeypatch.syspath_prepend(str(ROOT / "tests" / "plugins"))
    shallow = TransferSettings(size=1024, content_layers=["block1_conv2"], style_layers=["block1_conv2", "block2_conv1"])
    deep = dataclasses.replace(shallow, plugins=["deep_term"], terms={"deep_mean": 1.0})
    assert read_layers(shallow) == ["block1_conv2", "block2_conv1"]
    assert read_layers(deep) == ["block1_conv2", "block2_conv1", "block5_conv3"]
    for settings, deepest in ((shallow, "block2_conv1"), (deep, "block5_conv3")):
        halo = halo_for("vgg19", [deepest])
        plan = estimate.plan_stage(dataclasses.replace(settings, tile=256), "vgg19", 1024, 1024, None)
        assert plan.tile == 256 and plan.bytes == estimate.tiled_bytes(
            "vgg19", [deepest], 1024, 1024, 256, halo) + estimate.state_bytes("lbfgs", 10, 1024, 1024)
    assert halo_for("vgg19", read_layers(deep)) == 128 > halo_for("vgg19", read_layers(shallow)) == 16
    assert engine_for(deep, "float32").objective_for(256).halo == 128  # the tiles the network computes: the same
    assert estimate.run_seconds(deep, "vgg19", 1024, 1024) > 5 * estimate.run_seconds(shallow, "vgg19", 1024, 1024)
    small = Inputs.load(small_images["wide"], [small_images["style"]], dataclasses.replace(deep, size=20))
    small.check_sizes(dataclasses.replace(shallow, size=20), "vgg19")  # 20x13 serves block2_conv1
    with pytest.raises(ImageError, match="becomes 20x13, but vgg19 up to block5_conv3 needs at least 16x16"):
        small.check_sizes(dataclasses.replace(deep, size=20), "vgg19")


def test_the_memory_plan_tiles_then_takes_the_float32_lbfgs_then_shortens_it_then_takes_adam(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # Eigen's kernels take more scratch memory: smaller tiles
    eigen = estimate.plan_stage(TransferSettings(size=2048), "vgg19", 2048, 2048, 8 * 2**30)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")  # the figures below are oneDNN's
    settings = TransferSettings(size=2048)
    layers = read_layers(settings)
    untiled = estimate.plan_stage(settings, "vgg19", 2048, 2048, None)
    assert untiled.tile == 0 and untiled.optimizer == "lbfgs"
    assert estimate.estimate_bytes("vgg19", layers, 2048, 2048) > 8 * 2**30  # neither limit below fits it untiled
    scipys = estimate.plan_stage(settings, "vgg19", 2048, 2048, 12000 * 2**20)  # scipy's L-BFGS fits in big tiles
    assert scipys.tile == 1024 and scipys.optimizer == "lbfgs" and scipys.lbfgs_history == 10
    roomy = estimate.plan_stage(settings, "vgg19", 2048, 2048, 8 * 2**30)
    assert roomy.tile == 1024 and roomy.optimizer == "lbfgs32" and roomy.lbfgs_history == 10  # the largest tile kept
    assert "float32 L-BFGS memory 10" in roomy.describe()
    # pass 1 keeps nothing for a gradient: larger tiles than pass 2's, the whole image where it fits
    assert roomy.forward_tile == 2048 and "forward-only pass in 2048 px tiles" in roomy.describe()
    assert eigen.tile < roomy.tile and eigen.bytes <= 8 * 2**30
    assert roomy.bytes <= 8 * 2**30
    tight = estimate.plan_stage(settings, "vgg19", 2048, 2048, 4000 * 2**20)  # L-BFGS kept, its memory shortened
    assert tight.optimizer == "lbfgs32" and tight.lbfgs_history < 10 and tight.tile >= estimate.SMALLEST_KEEPING_TILE
    assert tight.bytes <= 4000 * 2**20 and tight.forward_tile > tight.tile
    tighter = estimate.plan_stage(settings, "vgg19", 2048, 2048, 3000 * 2**20)  # no L-BFGS fits: Adam
    assert tighter.optimizer == "adam" and tighter.tile > 0 and tighter.bytes <= 3000 * 2**20
    forced = estimate.plan_stage(TransferSettings(size=2048, tile=256), "vgg19", 2048, 2048, None)
    assert forced.tile == 256 and forced.optimizer == "lbfgs" and forced.forward_tile == 0  # no limit to size it by
    with pytest.raises(SettingsError, match="option max_memory: a 2048x2048 image needs at least"):
        estimate.plan_stage(settings, "vgg19", 2048, 2048, 600 * 2**20)
    # scipy holds bounds as one Python pair per value; the float32 L-BFGS as two constants: it keeps them
    printing = TransferSettings.from_preset("print", size=2048)
    assert printing.lbfgs_bounds
    bounded = estimate.plan_stage(printing, "vgg19", 2048, 2048, 6000 * 2**20)
    assert bounded.optimizer == "lbfgs32" and bounded.bounds and "without bounds" not in bounded.describe()
    roomy_bounded = estimate.plan_stage(printing, "vgg19", 512, 512, None)  # the print preset's own choice
    assert roomy_bounded.optimizer == "lbfgs32" and roomy_bounded.bounds and roomy_bounded.tile == 0
    scipy_bounded = estimate.plan_stage(TransferSettings(size=512, lbfgs_bounds=True), "vgg19", 512, 512, None)
    assert scipy_bounded.bytes > estimate.plan_stage(settings, "vgg19", 512, 512, None).bytes > roomy_bounded.bytes
    # where only the float32 L-BFGS fits untiled, it runs untiled rather than tiled
    need = estimate.plan_stage(settings, "vgg19", 1024, 1024, None).bytes
    saved = estimate.lbfgs_bytes(1024, 1024, 10) - estimate.lbfgs32_bytes(1024, 1024, 10)
    untiled32 = estimate.plan_stage(settings, "vgg19", 1024, 1024, need - saved // 2)
    assert untiled32.tile == 0 and untiled32.optimizer == "lbfgs32"


def test_on_a_gpu_the_articles_lbfgs_runs_as_the_float32_lbfgs_there():
    """scipy's L-BFGS-B keeps its state on the host: where the backend keeps the optimiser's arrays on a
    GPU, the plan runs the same loops with the float32 L-BFGS there; elsewhere, and for lbfgs32 or
    Adam, the optimiser asked for."""
    article = TransferSettings(size=512)
    assert estimate.plan_run(article, "vgg19", [(512, 512)], None) == [estimate.plan_stage(article, "vgg19", 512, 512, None)]
    assert estimate.plan_stage(article, "vgg19", 512, 512, None).optimizer == "lbfgs"
    on_gpu = estimate.plan_run(TransferSettings.from_preset("print", size=2048, optimizer="lbfgs"), "vgg19",
                               [(512, 512), (1024, 1024), (2048, 2048)], None, optimiser_on_device=True)
    assert [plan.optimizer for plan in on_gpu] == ["lbfgs32"] * 3
    for kept in ("lbfgs32", "adam"):
        settings = dataclasses.replace(article, optimizer=kept)
        assert estimate.plan_stage(settings, "vgg19", 512, 512, None, optimiser_on_device=True).optimizer == kept


@pytest.mark.parametrize("precision", ["bfloat16", "float32"])
def test_no_stage_keeps_more_layer_outputs_than_the_last_stage_leaves_room_for(precision):
    """TensorFlow keeps the memory its layer outputs once took, so within 8000 MiB a 4096 px print run's
    2048 px stage, which alone would run its forward pass over the whole image, takes tiles whose layer
    outputs fit beside the 4096 px stage's plan."""
    settings = TransferSettings.from_preset("print", size=4096)
    limit = 8000 * 2**20
    plans = estimate.plan_run(settings, "vgg19", [(s, s) for s in settings.sizes()], limit, precision)
    room = plans[-1].activations + limit - plans[-1].bytes
    alone = estimate.plan_stage(settings, "vgg19", 2048, 2048, limit, precision)
    assert alone.activations > room and alone.forward_tile == 2048
    assert all(plan.activations <= room and plan.bytes <= limit for plan in plans)
    assert plans[2].forward_tile < 2048 and plans[-1].optimizer == "lbfgs32"


EMULATED = os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" or "ONEDNN_MAX_CPU_ISA" in os.environ


@pytest.mark.skipif(EMULATED, reason="a whole run under a limit (60 CPU-s) runs once per make test, on this CPU's "
                    "own kernels and on PyTorch; the plan under Eigen's is test_the_memory_plan_…")
def test_a_run_that_does_not_fit_runs_tiled_under_the_limit(tmp_path, small_images):
    """80 % of the memory an untiled 768 px run needs: it runs, tiled (pass 1 untiled), and its peak stays under the limit."""
    settings = TransferSettings(size=768, iterations=1, evals_per_iteration=2, precision="float32")
    layers = read_layers(settings)
    need = estimate.estimate_bytes("vgg19", layers, 512, 768, settings.lbfgs_history)
    limit_mib = int(need / 2**20 * 0.8)
    record = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "nst", "transfer", str(small_images["wide"]), str(small_images["style"]),
                           "-o", str(tmp_path / "o.png"), "--record", str(record), "--size", "768", "--iterations", "1",
                           "--evals-per-iteration", "2", "--precision", "float32", "--quiet"],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "NST_MEMORY_LIMIT_MB": str(limit_mib)})
    assert done.returncode == 0, done.stderr
    run = json.loads(record.read_text())
    assert "tiled in" in run["plan"][0] and any("runs tiled" in n for n in run["notices"])
    assert "forward-only pass in 768 px tiles" in run["plan"][0]  # pass 1 over the whole image, within the limit too
    assert run["peak_rss_mib"] < limit_mib, (run["peak_rss_mib"], limit_mib)
    assert Image.open(tmp_path / "o.png").size == (768, 512)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_output_for_print(tmp_path, small_images, suffix):
    import tifffile

    out = tmp_path / f"print{suffix}"
    result = stylize(small_images["content"], [small_images["style"]],
                     TransferSettings(size=64, iterations=1, evals_per_iteration=3, seed=1, precision="float32",
                                      output_depth=16), output=out, progress=False)
    if suffix == ".tif":
        deep = tifffile.imread(out)
    else:
        assert out.read_bytes()[24] == 16  # the PNG header's bit depth
        deep = np.asarray(Image.open(out).convert("RGB"))  # Pillow reads it down to 8 bits
        deep = deep.astype(np.uint16) * 257
    assert deep.dtype == np.uint16 and deep.shape == (64, 64, 3)
    assert len(np.unique(result.image16)) > len(np.unique(result.image))  # finer steps than 8 bits hold
    assert np.abs(deep.astype(int) // 257 - result.image.astype(int)).max() <= 1
