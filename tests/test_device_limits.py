"""A PyTorch device without float64 or sparse CSR tensors (Apple's MPS), emulated on the CPU: the
backend's view of the device (`nst.backends.vectors.device_lacks`) says MPS's limits, and a guard
notes every operation that reads or makes such a tensor. A run there must make none, and end where
the same run on the CPU as it is ends. And an operation the device has no kernel for (PyTorch's
NotImplementedError on MPS), or a GPU's memory running out, ends a run with one line that says what
to do."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.utils import _pytree as pytree  # noqa: E402 (after the import check)
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import nst.backends  # noqa: E402
import nst.backends.vectors  # noqa: E402
import nst.engine  # noqa: E402
from nst.evaluate import image_losses  # noqa: E402
from nst.settings import TransferSettings  # noqa: E402
from nst.transfer import stylize  # noqa: E402

MPS_LACKS = frozenset({"float64", "sparse_csr"})
PLUGINS = Path(__file__).resolve().parent / "plugins"


@pytest.fixture(autouse=True)
def _plugins_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))


class Guard(TorchDispatchMode):
    """Counts the operations that read or make a float64 or a sparse CSR tensor: `found[what][operation]`."""

    def __init__(self):
        super().__init__()
        self.found = collections.defaultdict(collections.Counter)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [v for v in pytree.tree_leaves((args, kwargs, out)) if isinstance(v, torch.Tensor)]
        for what, seen in (("float64", any(t.dtype == torch.float64 for t in tensors)),
                           ("sparse_csr", any(t.layout == torch.sparse_csr for t in tensors))):
            if seen:
                self.found[what][func.overloadpacket.__name__] += 1
        return out


@pytest.fixture
def device(monkeypatch):
    """`emulate(True)` makes the next backend built see the CPU as a device with MPS's limits."""
    monkeypatch.setattr(nst.backends, "_BACKENDS", {})
    monkeypatch.setattr(nst.engine, "_ENGINES", {})

    def emulate(limited: bool) -> None:
        nst.backends._BACKENDS.clear()
        nst.engine._ENGINES.clear()
        monkeypatch.setattr(nst.backends.vectors, "device_lacks",
                            lambda _device: MPS_LACKS if limited else frozenset())

    return emulate


RUNS = {  # the settings, and what the CPU's own run makes that the device has not
    # the float32 L-BFGS over two stages with the coarse style (a shrink per evaluation), the second in tiles
    "print": (dict(preset="print", size=128, scales=[64], scale_evals=[15], iterations=1, evals_per_iteration=10,
                   tile=64), {"float64", "sparse_csr"}),
    "adam": (dict(preset="fast", size=64, optimizer="adam", iterations=2, evals_per_iteration=8), {"float64"}),
}


@pytest.mark.parametrize("run", RUNS)
def test_a_run_on_a_device_without_float64_makes_none_there_and_ends_alike(tmp_path, small_images, device, run,
                                                                           record_property):
    options, made_on_cpu = dict(RUNS[run][0]), RUNS[run][1]
    preset = options.pop("preset")
    settings = TransferSettings.from_preset(preset, backend="torch", device="cpu", precision="float32", seed=0,
                                            **options)
    found, scores, evaluations = {}, {}, {}
    for limited in (False, True):
        device(limited)
        out = tmp_path / f"{run}_{limited}.png"
        with Guard() as guard:
            result = stylize(small_images["content"], [small_images["style"]], settings, output=out, progress=False)
        found[limited] = guard.found
        scores[limited] = image_losses(small_images["content"], [small_images["style"]], [out],
                                       TransferSettings(size=64, backend="torch", device="cpu",
                                                        precision="float32"))[0]["total"]
        evaluations[limited] = result.record.evaluations
        assert run != "print" or result.record.plan[-1].startswith("tiled in 64 px tiles"), result.record.plan
    record_property(f"{run}: saved image's loss, MPS's limits / none", f"{scores[True]:.4e} / {scores[False]:.4e}")
    assert set(found[False]) == made_on_cpu, "the guard must see in the CPU's own run what the device lacks"
    assert not found[True], f"made on a device without them: {dict(found[True])}"
    assert evaluations[True] == evaluations[False] >= 16
    assert scores[True] == pytest.approx(scores[False], rel=0.02)


def test_without_float64_the_sums_are_the_hosts(device):
    """Each product is made of float32 chunk sums added in float64 on the host, as NumPy makes it."""
    device(True)
    vectors = nst.backends.vectors.TorchVectors(torch.device("cpu"))
    assert not vectors.wide
    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=(1, 300, 400, 3)).astype(np.float32) for _ in range(2))
    host = nst.backends.vectors.NumpyVectors()
    ta, tb = vectors.from_host(a), vectors.from_host(b)
    with Guard() as guard:
        dot = vectors.dot(ta, tb)
        slopes = vectors.slopes_of_step(ta, tb, tb, ta)
        rows = vectors.rows_dot(torch.stack([ta[0], tb[0]]), ta[0])
    assert not guard.found, dict(guard.found)
    assert isinstance(rows, np.ndarray) and rows.dtype == np.float64
    np.testing.assert_allclose(dot, host.dot(a, b), rtol=1e-6)
    np.testing.assert_allclose(slopes, host.slopes_of_step(a, b, b, a), rtol=1e-6)
    np.testing.assert_allclose(rows, host.rows_dot(np.stack([a[0], b[0]]), a[0]), rtol=1e-6)


FAILURES = {  # a plugin term failing as PyTorch fails on a GPU: the line nst says
    "missing_kernel": "option device: mps: this PyTorch has no MPS kernel for aten::_upsample_bicubic2d_aa.out; "
                      "run again with PYTORCH_ENABLE_MPS_FALLBACK=1",
    "out_of_device_memory": "the GPU ran out of memory (it asked for 2.00 GiB more): nst planned within what was "
                            "free when the run started",
}


@pytest.mark.parametrize("term", FAILURES)
def test_what_the_device_cannot_do_is_one_line_saying_what_to_do(tmp_path, small_images, term):
    """PyTorch on MPS lacks kernels for some operations, varying by version; a GPU's memory runs out when
    another process took what a run planned with. `nst transfer` ends with one line saying so and what to
    do (after any notices), exit code 2, and no output file."""
    out = tmp_path / "out.png"
    done = subprocess.run([sys.executable, "-m", "nst", "transfer", small_images["content"], small_images["style"],
                           "-o", out, "--size", "64", "--iterations", "1", "--evals-per-iteration", "2", "--quiet",
                           "--backend", "torch", "--device", "cpu", "--terms", f"{term}=1",
                           "--plugins", "device_failure_terms"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")])})
    errors = [line for line in done.stderr.splitlines() if not line.startswith("nst: notice:")]
    assert done.returncode == 2 and len(errors) == 1, done.stderr  # no traceback
    assert errors[0].startswith(f"nst: error: {FAILURES[term]}")
    assert not out.exists()


@pytest.mark.parametrize("term", FAILURES)
def test_in_the_workflow_what_the_device_cannot_do_fails_the_job_in_one_line(tmp_path, capsys, term):
    from device_failure_terms import NO_KERNEL, OUT_OF_MEMORY

    from nst.workflow.script import run

    log = tmp_path / "job.log"
    job = types.SimpleNamespace(log=[str(log)], rule="transfer_pair")
    failure = NotImplementedError(NO_KERNEL) if term == "missing_kernel" else torch.OutOfMemoryError(OUT_OF_MEMORY)

    def fails(_snakemake):
        raise failure

    with pytest.raises(SystemExit) as stopped:
        run(job, fails)
    said = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 1 and len(said) == 1
    assert said[0].startswith(f"nst: error in rule transfer_pair: {FAILURES[term]}")
    assert FAILURES[term] in log.read_text() and "Traceback" not in log.read_text()
    with pytest.raises(type(failure)):  # any other is a bug: its traceback goes to the log
        run(job, lambda _snakemake: (_ for _ in ()).throw(type(failure)("not yet")))
    assert "Traceback" in log.read_text()


def test_a_video_on_a_device_without_float64_makes_none_there_and_ends_alike(tmp_path, device):
    """The frame chain: the temporal term's guides (the warped previous frame and its weights) on the
    device, three frames of the fast preset."""
    from fractions import Fraction

    from PIL import Image

    from nst.video.chain import FrameChain
    from nst.video.clips import Clip
    from nst.video.settings import VideoSettings
    from nst.video.synthetic import synthetic_clip

    root = Path(__file__).resolve().parents[1]
    photo = np.asarray(Image.open(root / "data/content/coffee.png").convert("RGB"))
    clip = Clip(synthetic_clip(photo, frames=3, size=(96, 64)).frames, Fraction(12), None)
    settings = TransferSettings.from_preset("fast", size=64, backend="torch", device="cpu", precision="float32", seed=0)
    found, rows = {}, {}
    for limited in (False, True):
        device(limited)
        chain = FrameChain(clip, [str(root / "data/styles/strokes.png")], settings, tmp_path / f"work_{limited}",
                           VideoSettings(frame_evals=6))
        with Guard() as guard:
            rows[limited] = chain.run().rows
        found[limited] = guard.found
    assert set(found[False]) == {"float64"} and not found[True], dict(found[True])
    assert [row.evaluations for row in rows[True]] == [row.evaluations for row in rows[False]]
    assert rows[True][-1].losses["temporal"] > 0
    for ours, theirs in zip(rows[True], rows[False]):
        assert ours.losses["total"] == pytest.approx(theirs.losses["total"], rel=0.02)
