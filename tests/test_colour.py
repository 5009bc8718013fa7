"""Colour transfer (nst/colour.py) on the project's own images, against plain NumPy statistics."""

import numpy as np
import pytest
from PIL import Image

from nst import colour
from nst.errors import SettingsError
from nst.settings import TransferSettings
from snakemake_runner import ROOT

DATA = ROOT / "data"


def photo(name: str, size=(192, 128)) -> np.ndarray:
    with Image.open(DATA / name) as image:
        return np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), np.float64)


CONTENT = photo("content/chelsea.png")
STYLES = {"strokes": photo("styles/strokes.png", (160, 160)), "mosaic": photo("styles/mosaic.png", (160, 160))}


@pytest.mark.parametrize("method", colour.LINEAR)
def test_each_linear_map_carries_one_covariance_onto_the_other(method, rng):
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    source, reference = a @ a.T + np.eye(3), b @ b.T + np.eye(3)
    m = colour.linear_map(source, reference, method)
    eps = np.eye(3) * 1e-3
    np.testing.assert_allclose(m @ (source + eps) @ m.T, reference + eps, rtol=1e-9, atol=1e-9)
    if method == "cholesky":
        assert np.allclose(np.triu(m, 1), 0)  # a product of lower-triangular factors
    if method == "symmetric":
        np.testing.assert_allclose(m, m.T, atol=1e-9)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("method", colour.LINEAR)
def test_covariance_matching_gives_the_style_the_contents_mean_and_covariance(method, style, record_property):
    matched = colour.match_covariance(STYLES[style], CONTENT, method)
    mean, cov = colour.pixel_statistics(matched)
    content_mean, content_cov = colour.pixel_statistics(CONTENT)
    mean_error = float(np.abs(mean - content_mean).max() / np.abs(content_mean).max())
    cov_error = float(np.linalg.norm(cov - content_cov) / np.linalg.norm(content_cov))
    record_property(f"colour {method} {style}", f"mean off by {mean_error:.2%}, covariance by {cov_error:.2%} "
                                               "(after clipping to 0..255)")
    assert mean_error < 0.01 and cov_error < 0.01
    assert matched.shape == STYLES[style].shape and matched.min() >= 0 and matched.max() <= 255


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between two channels' cumulative histograms over 0..255."""
    levels = np.arange(257)
    cdf = [np.searchsorted(np.sort(np.rint(x).ravel()), levels, side="left") / x.size for x in (a, b)]
    return float(np.abs(cdf[0] - cdf[1]).max())


@pytest.mark.parametrize("style", STYLES)
def test_histogram_matching_gives_each_channel_the_contents_histogram(style, record_property):
    """A style of few distinct colours (the mosaic) cannot take every level of the photo: each of its
    values maps to one, so a tenth of the distance before is what is asked."""
    matched = colour.match_histogram(STYLES[style], CONTENT)
    after = [ks_distance(matched[..., c], CONTENT[..., c]) for c in range(3)]
    before = [ks_distance(STYLES[style][..., c], CONTENT[..., c]) for c in range(3)]
    record_property(f"colour histogram {style}", "Kolmogorov-Smirnov distance per channel "
                    f"{', '.join(f'{d:.3f}' for d in after)} (before: {', '.join(f'{d:.3f}' for d in before)})")
    assert max(after) < 0.05 and max(after) < min(before) / 10


def test_preserve_color_is_the_luminance_mode_and_one_colour_mode_is_chosen():
    assert TransferSettings.from_mapping({"preserve_color": True}).color_transfer == "luminance"
    assert TransferSettings.from_mapping({"preserve_color": False}).color_transfer == "none"
    with pytest.raises(SettingsError, match="option color_transfer: preserve_color is color_transfer=luminance; give "
                                            "one of them, not both"):
        TransferSettings.from_mapping({"preserve_color": True, "color_transfer": "cholesky"})
    with pytest.raises(SettingsError, match="option color_transfer: must be one of none, histogram, cholesky"):
        TransferSettings(color_transfer="lab").validate()


def test_a_colour_mode_is_one_registered_class(small_images):
    """What the network sees, what the styles become and how the result renders all come from the mode:
    a new one added by a class is an option value, and the stage's images and rendering follow it."""
    from nst.inputs import Inputs

    @colour.register_colour_mode
    class Inverted(colour.ColourMode):
        name = "inverted_test"
        help = "the photo's colours inverted in the result"

        def render(self, rgb, content_rgb):
            return 255.0 - rgb

    try:
        settings = TransferSettings(size=32, color_transfer="inverted_test").validate()
        stage = Inputs.load(small_images["content"], [small_images["style"]], settings).stage(settings, 32)
        x = np.zeros((1, *stage.shape, 3), np.float32)
        plain = stage.render(x, TransferSettings(size=32))
        assert np.array_equal(stage.render(x, settings), 255 - plain)
        assert np.array_equal(stage.content_net, stage.content_rgb)  # seen as it is, the default
    finally:
        del colour.COLOUR_MODES["inverted_test"]


def test_every_colour_mode_brings_the_result_nearer_the_photos_colours(small_images, record_property):
    """The same short transfer from noise in each mode: its colours (mean and covariance of the
    saved result) move towards the photo's from where the style alone takes them."""
    from nst.transfer import stylize

    content = np.asarray(Image.open(small_images["content"]).convert("RGB"), np.float64)
    content_mean, content_cov = colour.pixel_statistics(content)

    def distance(image):
        mean, cov = colour.pixel_statistics(np.asarray(image, np.float64)[..., :3])
        return float(np.linalg.norm(mean - content_mean) + np.linalg.norm(cov - content_cov) ** 0.5)

    found = {}
    for mode in colour.COLOUR_MODES:
        settings = TransferSettings(size=64, iterations=3, evals_per_iteration=10, seed=4, precision="float32",
                                    color_transfer=mode)
        found[mode] = distance(stylize(small_images["content"], [small_images["style2"]], settings,
                                       progress=False).image)
    record_property("colour modes, distance of the result's colours from the photo's",
                    ", ".join(f"{m} {d:.1f}" for m, d in found.items()))
    assert all(found[mode] < found["none"] for mode in colour.COLOUR_MODES if mode != "none"), found
