"""Style masks (Gatys et al. 2017): the masks at each layer, the guided Gram term against NumPy,
tiled against untiled, and what a user gets: each region in its own style, the photo kept where
no mask reaches, bad masks refused in one line."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import images, masks
from nst.engine import engine_for
from nst.evaluate import region_style_losses
from nst.inputs import Inputs
from nst.settings import TransferSettings
from nst.terms import StyleTerm
from nst.transfer import stylize

ROOT = Path(__file__).resolve().parents[1]
SHALLOW = dict(content_layers=["block2_conv2"], style_layers=["block1_conv2", "block2_conv2"])


def write_masks(folder, size, split=(0.5, 0.5)):
    """Vertical bands: the first style's on the left, the second's on the right, and between them
    (where the two shares leave a gap) the photo. `size` is (width, height)."""
    w, h = size
    left, right = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    left[:, : round(w * split[0])] = 255
    right[:, w - round(w * split[1]):] = 255
    paths = [folder / "left.png", folder / "right.png"]
    for path, mask in zip(paths, (left, right)):
        Image.fromarray(mask).save(path)
    return paths


# --- the masks at each layer ------------------------------------------------------------------


def test_a_layer_reads_each_block_mean_eroded_by_one_position(rng):
    m = (rng.uniform(size=(37, 53, 2)) > 0.3).astype(np.float32)
    d = 4
    h, w = 37 // d, 53 // d
    mean = np.array([[[m[i * d:(i + 1) * d, j * d:(j + 1) * d, r].mean() for r in range(2)] for j in range(w)]
                     for i in range(h)])
    np.testing.assert_allclose(masks.pooled(m, d), mean, rtol=1e-6)
    padded = np.pad(mean, ((1, 1), (1, 1), (0, 0)), mode="edge")
    darkest = np.array([[padded[i:i + 3, j:j + 3].min(axis=(0, 1)) for j in range(w)] for i in range(h)])
    np.testing.assert_allclose(masks.layer_masks(m, d)[0], darkest, rtol=1e-6)


def test_a_region_too_thin_to_erode_is_kept_as_it_is():
    m = np.zeros((32, 32, 2), np.float32)
    m[:, :, 0] = 1
    m[10:12, 10:12, 1] = 1  # two positions wide: erosion would empty it
    found = masks.layer_masks(m, 1)[0]
    assert found[..., 0].min() == 1 and found[..., 1].sum() == 4
    assert masks.styled(m).all() and not masks.styled(m[..., 1:]).all()


# --- the guided Gram term against NumPy ---------------------------------------------------------


def numpy_masked_style(maps, guides, targets, height, width):
    """Each region's guided Gram (features times mask, squared sums), scaled to the whole layer,
    against its target, weighted by the region's share of the layer: Gatys et al. 2017, in loops."""
    total = 0.0
    for f, m, t in zip(maps, guides, targets):
        f, m = f[0].reshape(-1, f.shape[-1]).astype(np.float64), m[0].reshape(-1, m.shape[-1]).astype(np.float64)
        for r in range(m.shape[1]):
            gram = (f * m[:, r:r + 1]).T @ (f * m[:, r:r + 1])
            share = (m[:, r] ** 2).sum() / len(f)
            total += share * ((t[r] - gram / share) ** 2).sum() / (4 * 9 * (height * width) ** 2)
    return total


def backend_named(name):
    from nst.backends import backend_for, installed

    if not installed(name):
        pytest.skip(f"{name} is not installed here")
    return backend_for(name, "cpu")


BACKENDS = pytest.mark.parametrize("name", ["tensorflow", "torch"])


@BACKENDS
def test_the_masked_style_term_is_the_guided_gram_loss(rng, name):
    backend = backend_named(name)
    settings = TransferSettings(**SHALLOW, style_masks=["a.png", "b.png"])
    term = StyleTerm(settings, backend.ops)
    shapes = {"block1_conv2": (1, 12, 10, 8), "block2_conv2": (1, 6, 5, 16)}
    maps = {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}
    guides = {n: rng.uniform(size=(1, s[1], s[2], 2)).astype(np.float32) for n, s in shapes.items()}
    targets = [rng.uniform(size=(2, s[3], s[3])).astype(np.float32) * 50 for s in shapes.values()]
    found = term.loss(backend.tensor(np.zeros((1, 12, 10, 3))), {n: backend.tensor(v) for n, v in maps.items()},
                      tuple(map(backend.tensor, targets)), {}, {n: backend.tensor(v) for n, v in guides.items()})
    expected = numpy_masked_style(list(maps.values()), list(guides.values()), targets, 12, 10)
    assert backend.ops.to_float(found) == pytest.approx(expected, rel=1e-5)


@BACKENDS
def test_one_mask_over_everything_is_the_plain_style_term(rng, name):
    backend = backend_named(name)
    shapes = {"block1_conv2": (1, 12, 10, 8), "block2_conv2": (1, 6, 5, 16)}
    maps = {n: backend.tensor(rng.normal(size=s).astype(np.float32)) for n, s in shapes.items()}
    targets = [rng.uniform(size=(s[3], s[3])).astype(np.float32) * 50 for s in shapes.values()]
    image = backend.tensor(np.zeros((1, 12, 10, 3)))
    plain = StyleTerm(TransferSettings(**SHALLOW), backend.ops).loss(image, maps, tuple(map(backend.tensor, targets)),
                                                                     {}, {})
    masked = StyleTerm(TransferSettings(**SHALLOW, style_masks=["all.png"]), backend.ops).loss(
        image, maps, tuple(backend.tensor(t[np.newaxis]) for t in targets), {},
        {n: backend.tensor(np.ones((1, s[1], s[2], 1))) for n, s in shapes.items()})
    assert backend.ops.to_float(masked) == pytest.approx(backend.ops.to_float(plain), rel=1e-5)


# --- tiled, as every term -----------------------------------------------------------------------


@pytest.mark.kernels
def test_the_masked_loss_and_gradient_tile_exactly(tmp_path, small_images):
    """192 x 128 in 32 px tiles (24 tiles), a shallow network (halo 16), two soft-edged regions."""
    with Image.open(small_images["wide"]) as im:
        size = im.size
    left, right = write_masks(tmp_path, size, (0.6, 0.55))  # overlapping bands
    Image.open(left).resize((30, 20)).save(tmp_path / "soft_left.png")  # any size: stretched, soft edges
    settings = TransferSettings(size=192, **SHALLOW, style_masks=[str(tmp_path / "soft_left.png"), str(right)])
    stage = Inputs.load(small_images["wide"], [small_images["style"], small_images["style2"]], settings).stage(
        settings, 192)
    engine = engine_for(settings, "float32")
    x = (np.random.default_rng(0).uniform(0, 255, (1, *stage.shape, 3)) - 128).astype(np.float32)
    (whole, g), (tiled, gt) = [objective.value_and_grad(x, stage.targets(objective, settings))
                               for objective in (engine.objective, engine.objective_for(32))]
    for name in ("total", "content", "style", "tv"):
        assert tiled[name] == pytest.approx(whole[name], rel=1e-4), name
    assert np.linalg.norm(gt - g) / np.linalg.norm(g) < 1e-4


# --- what a user gets ---------------------------------------------------------------------------


def test_two_regions_take_their_own_styles_and_the_gap_keeps_the_photo(tmp_path, record_property):
    """chelsea at 256 px: strokes on the left 45 %, mosaic on the right 40 %, the photo between."""
    content = "data/content/chelsea.png"
    styles = ["data/styles/strokes.png", "data/styles/mosaic.png"]
    with Image.open(content) as im:
        size = im.size
    mask_paths = write_masks(tmp_path, size, (0.45, 0.40))
    settings = TransferSettings.from_preset("fast", size=256, seed=0, iterations=4, evals_per_iteration=20,
                                            style_masks=[str(p) for p in mask_paths])
    out = tmp_path / "masked.png"
    result = stylize(content, styles, settings, output=out, progress=False)
    assert result.status == "completed"
    own, other = region_style_losses(content, styles, np.asarray(Image.open(out)), settings)
    record_property("region style loss, own / other", [f"{a:.3g} / {b:.3g} ({a / b:.3f})" for a, b in zip(own, other)])
    assert (own <= other / 3).all(), (own, other)

    saved = np.asarray(Image.open(out).convert("L"), np.float64)
    h, w = saved.shape
    photo = np.asarray(images.resize(Image.open(content).convert("RGB"), (w, h)).convert("L"), np.float64)
    gap = slice(round(w * 0.45) + 2, w - round(w * 0.40) - 2)  # the content-only band, off its soft edges
    band = float(np.abs(saved[:, gap] - photo[:, gap]).mean())
    styled = float(np.abs(saved[:, : round(w * 0.45)] - photo[:, : round(w * 0.45)]).mean())
    record_property("content-only band, mean absolute grey-level change", f"{band:.2f} (styled band: {styled:.1f})")
    assert band <= 3 and styled > 10


# --- bad masks: one line, exit 2, nothing written -----------------------------------------------


@pytest.mark.parametrize("case, expected", [
    ("not_an_image", "notes.png: not an image"),
    ("count", "option style_masks: needs one mask per style image (2), got 1"),
    ("black", "black.png: the mask is black everywhere"),
    ("with_blend", "option style_blend: blends styles over the whole image"),
])
def test_a_bad_mask_is_one_line_exit_2_and_no_output(tmp_path, small_images, case, expected):
    left, right = write_masks(tmp_path, (64, 64))
    given = [left, right]
    extra = []
    if case == "not_an_image":
        given[1] = tmp_path / "notes.png"
        given[1].write_text("hello")
    elif case == "count":
        given = [left]
    elif case == "black":
        given[1] = tmp_path / "black.png"
        Image.new("L", (64, 64), 0).save(given[1])
    elif case == "with_blend":
        extra = ["--style-blend", "1,2"]
    out = tmp_path / "out.png"
    done = subprocess.run([sys.executable, "-m", "nst", "transfer", str(small_images["content"]),
                           str(small_images["style"]), str(small_images["style2"]), "-o", str(out), "--size", "64",
                           "--iterations", "1", "--evals-per-iteration", "2",
                           "--style-masks", ",".join(map(str, given)), *extra], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]

