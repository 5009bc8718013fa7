"""Two backends, one engine (nst/backends): on a CPU, TensorFlow and PyTorch give the same losses and
gradients for every term, whole and tiled, with masks, the temporal term, the coarse style and
plugin terms; the same transfer ends at the same quality; a checkpoint of one is not taken up by the
other; and either runs with the other absent."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst.backends import installed
from nst.engine import engine_for
from nst.inputs import Inputs
from nst.settings import TransferSettings
from snakemake_runner import ROOT, without

pytestmark = pytest.mark.skipif(not (installed("tensorflow") and installed("torch")),
                                reason="needs both TensorFlow and PyTorch installed")
KERNELS = pytest.mark.kernels  # the numbers' tests run again under the oneDNN emulations (make test)

PLUGINS = ROOT / "tests" / "plugins"
BACKENDS = ("tensorflow", "torch")
RELATIVE = 1e-4  # the bound for float32 on a CPU


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(np.asarray(b, np.float64)))


def evaluate_both(content, styles, settings, size, tile=0, guides=None, x=None, coarse=False):
    """Each backend's losses and gradient of the same image (float32, real VGG19 weights)."""
    found = {}
    for name in BACKENDS:
        here = dataclasses.replace(settings, backend=name, device="cpu", precision="float32")
        engine = engine_for(here)
        inputs = Inputs.load(content, styles, here, guides)
        stage = inputs.stage(here, size)
        objective = engine.objective_for(tile)
        targets = stage.targets(objective, here)
        if coarse:  # a second stage's objective with the first stage's look (nst/coarse_style.py)
            from nst.coarse_style import CoarseStyle

            first = inputs.stage(here, here.scales[0])
            objective = CoarseStyle(objective, engine.objective, first, stage.shape, here)
        image = x if x is not None else (np.random.default_rng(0).uniform(0, 255, (1, *stage.shape, 3)) - 128)
        losses, grad = objective.value_and_grad(engine.backend.vectors.from_host(image.astype(np.float32)), targets)
        found[name] = (losses, engine.backend.vectors.to_host(grad))
    return found


def assert_same(found):
    (tf_losses, tf_grad), (torch_losses, torch_grad) = found["tensorflow"], found["torch"]
    assert set(tf_losses.parts) == set(torch_losses.parts)
    for name in ("total", *tf_losses.parts):
        assert torch_losses[name] == pytest.approx(tf_losses[name], rel=RELATIVE, abs=1e-3), name
    assert relative(torch_grad, tf_grad) < RELATIVE


@pytest.fixture(autouse=True)
def _plugins_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))


SHALLOW = dict(content_layers=["block2_conv2"], style_layers=["block1_conv2", "block2_conv2", "block3_conv1"])


@KERNELS
@pytest.mark.parametrize("tile", [0, 32], ids=["whole", "tiled"])
def test_every_built_in_term_gives_the_same_loss_and_gradient_on_both(small_images, tile):
    """The article's terms (content, style, total variation) to block5_conv3, whole and in 32 px tiles."""
    settings = TransferSettings(size=96, tile=tile)
    assert_same(evaluate_both(small_images["wide"], [small_images["style"]], settings, 96, tile))


@KERNELS
@pytest.mark.parametrize("tile", [0, 32], ids=["whole", "tiled"])
def test_masked_style_and_plugin_terms_give_the_same_on_both(tmp_path, small_images, tile):
    """Two regions with their own styles, and three plugin terms: one reading the image, one a layer's
    totals (two passes when tiled), one the content position by position."""
    mask = np.zeros((64, 96), np.uint8)
    mask[:, :50] = 255
    Image.fromarray(mask).save(tmp_path / "left.png")
    Image.fromarray(255 - mask).save(tmp_path / "right.png")
    settings = TransferSettings(size=96, tile=tile, **SHALLOW, style_masks=[str(tmp_path / "left.png"),
                                                                            str(tmp_path / "right.png")],
                                plugins=["mean_colour_term", "feature_terms"],
                                terms={"mean_colour": 10.0, "feature_mean": 1e3, "content_l1": 0.5})
    found = evaluate_both(small_images["wide"], [small_images["style"], small_images["style2"]], settings, 96, tile)
    assert {"mean_colour", "feature_mean", "content_l1"} <= set(found["torch"][0].parts)
    assert_same(found)


@KERNELS
def test_the_temporal_term_gives_the_same_on_both(small_images):
    """A video frame's guides: the warped previous frame and its reliability (nst/video/chain.py)."""
    rng = np.random.default_rng(1)
    guides = {"previous": rng.uniform(0, 255, (64, 96, 3)).astype(np.float32),
              "reliability": rng.uniform(0, 1, (64, 96, 1)).astype(np.float32)}
    settings = TransferSettings(size=96, **SHALLOW, terms={"temporal": 200.0})
    assert_same(evaluate_both(small_images["wide"], [small_images["style"]], settings, 96, guides=guides))


@KERNELS
def test_the_coarse_style_gives_the_same_on_both(small_images):
    """A 96 px stage that also matches the style of its image shrunk to the 48 px first stage."""
    settings = TransferSettings(size=96, scales=[48], coarse_style=0.25, **SHALLOW)
    assert_same(evaluate_both(small_images["wide"], [small_images["style"]], settings, 96, coarse=True))


THREADED = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")  # what a caller's env may pin


def test_the_fast_preset_ends_at_the_same_quality_on_both(tmp_path, small_images, record_property):
    """`nst transfer --preset fast` at 160 px in float32 on each backend, 2 threads each, each saved image
    scored the same way (float32, TensorFlow): within 1 % of each other. The two runs agree to 1e-4 for
    their first 20 evaluations, then their line searches part ways, as any two float32 libraries' (or
    thread counts') would: with 2 threads at 160 px they ended +0.06 % apart on an AMX Xeon (-0.34 %
    with TensorFlow's oneDNN off), with one thread +1.79 %, at 128 px 1.0 to 1.4 % (docs/gpu.md). So
    each runs as a user's `nst transfer`, in its own process, with its threads pinned (--threads 2),
    whatever the suite's and the machine's."""
    from nst.evaluate import image_losses

    env = {name: value for name, value in os.environ.items() if name not in THREADED}
    scores = {}
    for name in BACKENDS:
        out, record = tmp_path / f"{name}.png", tmp_path / f"{name}.json"
        done = subprocess.run([sys.executable, "-m", "nst", "transfer", str(small_images["wide"]),
                               str(small_images["style"]), "--preset", "fast", "--size", "160", "--seed", "0",
                               "--precision", "float32", "--backend", name, "--device", "cpu", "--threads", "2",
                               "-o", str(out), "--record", str(record), "--quiet"],
                              capture_output=True, text=True, timeout=900, env=env)
        assert done.returncode == 0, done.stderr
        run = json.loads(record.read_text())
        assert run["backend"] == name and run["evaluations"] >= 100
        judge = TransferSettings(size=160, backend="tensorflow", precision="float32")
        scores[name] = image_losses(small_images["wide"], [small_images["style"]], [out], judge)[0]["total"]
    record_property("fast preset at 160 px, PyTorch's saved image against TensorFlow's",
                    f"{scores['torch'] / scores['tensorflow'] - 1:+.2%}")
    assert scores["torch"] == pytest.approx(scores["tensorflow"], rel=0.01), scores


def test_a_checkpoint_of_one_backend_is_not_taken_up_by_the_other(tmp_path, small_images, caplog):
    from nst.run import Observer, StopRun
    from nst.transfer import stylize

    class StopAfterFirst(Observer):
        def iterated(self, iteration):
            if not iteration.replayed:
                raise StopRun("test")

    common = dict(size=48, iterations=3, evals_per_iteration=2, seed=1, precision="float32", device="cpu")
    checkpoint = tmp_path / "ck"
    stopped = stylize(small_images["content"], [small_images["style"]], TransferSettings(**common, backend="tensorflow"),
                      output=tmp_path / "a.png", progress=False, checkpoint=checkpoint, observers=[StopAfterFirst()])
    assert stopped.status == "stopped"
    done = stylize(small_images["content"], [small_images["style"]], TransferSettings(**common, backend="torch"),
                   output=tmp_path / "b.png", progress=False, checkpoint=checkpoint)
    lines = [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]
    assert len(lines) == 1 and "is of another run (backend: 'tensorflow' then, 'torch' now)" in lines[0]  # said once
    assert done.status == "completed" and done.record.backend == "torch" and done.record.iterations_completed == 3


def test_gpu_hardware_is_found_from_the_drivers_files_without_a_tensor_library(tmp_path):
    from nst.device import gpu_hardware

    proc, dev = tmp_path / "proc", tmp_path / "dev"
    dev.mkdir()
    assert gpu_hardware(proc, dev, "Linux", "x86_64") is None
    for bus, model in (("0000:01:00.0", "NVIDIA H200"), ("0000:02:00.0", "NVIDIA H200")):
        (proc / "driver/nvidia/gpus" / bus).mkdir(parents=True)
        (proc / "driver/nvidia/gpus" / bus / "information").write_text(f"Model: \t\t {model}\nIRQ:   \t 42\n")
    assert gpu_hardware(proc, dev, "Linux", "x86_64") == "NVIDIA H200, NVIDIA H200"
    (dev / "kfd").touch()  # ROCm's device: AMD
    assert gpu_hardware(tmp_path / "elsewhere", dev, "Linux", "x86_64") == "an AMD GPU (ROCm)"
    assert gpu_hardware(tmp_path / "elsewhere", tmp_path / "none", "Darwin", "arm64") == "Apple silicon (MPS)"


def test_a_run_that_auto_gives_tensorflow_on_the_cpu_names_the_gpu_pytorch_could_use(tmp_path, small_images,
                                                                                     monkeypatch):
    """TensorFlow stays auto's choice (issue 33), so where it computes on the CPU beside a GPU that PyTorch
    could use, the run says how to use it. The GPU is the driver's files' (here: said to be there)."""
    import nst.run
    from nst.transfer import stylize

    monkeypatch.delenv("NST_BACKEND", raising=False)
    monkeypatch.setattr(nst.run, "gpu_hardware", lambda: "NVIDIA H200")
    common = dict(size=32, iterations=1, evals_per_iteration=2, precision="float32", device="cpu")
    said = {}
    for backend in ("auto", "tensorflow", "torch"):
        record = stylize(small_images["content"], [small_images["style"]], TransferSettings(**common, backend=backend),
                         output=tmp_path / f"{backend}.png", progress=False).record
        said[backend] = [n for n in record.notices if "PyTorch can use" in n]
    assert said["auto"] == ["TensorFlow computes on the CPU here, but this machine has NVIDIA H200, which PyTorch can "
                            "use: --backend torch (config: nst: {backend: torch}) runs there"]
    assert said["tensorflow"] == [] and said["torch"] == []  # chosen by name: nothing to say
    monkeypatch.setattr(nst.run, "gpu_hardware", lambda: None)
    record = stylize(small_images["content"], [small_images["style"]], TransferSettings(**common),
                     output=tmp_path / "none.png", progress=False).record
    assert not [n for n in record.notices if "PyTorch can use" in n]


# --- either alone: the other library absent, as where it is not installed -------------------------

@pytest.mark.parametrize("backend, absent", [("torch", "tensorflow"), ("tensorflow", "torch")])
def test_either_backend_runs_with_the_other_absent(tmp_path, small_images, backend, absent):
    env = without(absent, tmp_path / "hide")
    probe = subprocess.run([sys.executable, "-c", f"import {absent}"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named" in probe.stderr  # really absent in these processes
    check = ("import sys, runpy; sys.argv = ['nst'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('nst', run_name='__main__')\n"
             "finally:\n    print('loaded:', sorted(m for m in ('tensorflow', 'torch') if m in sys.modules))")
    out = tmp_path / "out.png"
    done = subprocess.run([sys.executable, "-c", check, "transfer", str(small_images["content"]),
                           str(small_images["style"]), "-o", str(out), "--size", "48", "--iterations", "1",
                           "--evals-per-iteration", "3", "--record", str(tmp_path / "r.json")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"loaded: ['{backend}']" in done.stdout  # `auto` found the one there, and nothing imported the other
    assert json.loads((tmp_path / "r.json").read_text())["backend"] == backend and out.is_file()
    loss = subprocess.run([sys.executable, "-m", "nst", "loss", str(small_images["content"]), str(small_images["style"]),
                           str(out), "--size", "48"], env=env, capture_output=True, text=True)
    assert loss.returncode == 0 and json.loads(loss.stdout)["total"] > 0, loss.stderr
    asked = subprocess.run([sys.executable, "-m", "nst", "transfer", str(small_images["content"]),
                            str(small_images["style"]), "-o", str(tmp_path / "x.png"), "--backend", absent],
                           env=env, capture_output=True, text=True)
    lines = asked.stderr.strip().splitlines()
    assert asked.returncode == 2 and len(lines) == 1 and f"option backend: {absent} is not installed here" in lines[0]



def test_each_backend_plans_with_the_bytes_measured_for_it(small_images):
    """TensorFlow's runs are planned with its own bytes per activation for the precision computing;
    PyTorch's with float32's whatever computes, since its bfloat16 terms keep float32 copies of the
    maps (on the H200 a 4096² bfloat16 run peaked 20 % above TensorFlow's bfloat16 bytes)."""
    from nst import estimate
    from nst.run import Transfer

    for backend in ("tensorflow", "torch"):
        settings = TransferSettings(size=128, backend=backend, precision="bfloat16", max_memory=1 << 20)
        transfer = Transfer.prepare(small_images["content"], [small_images["style"]], settings)
        planned = transfer.engine.precision if backend == "tensorflow" else "float32"
        expected = estimate.plan_stage(settings, transfer.engine.backbone, *transfer.inputs.shape_at(128),
                                       (1 << 20) * 2**20, planned)
        assert transfer.plans[-1] == expected, backend
