"""Checkpoints: a run stopped or killed at any moment resumes and ends with the same image, bit for bit."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nst.run import Observer, StopRun
from nst.settings import TransferSettings
from nst.transfer import stylize

TINY = dict(size=48, iterations=3, evals_per_iteration=3, seed=3, precision="float32")


class StopAfter(Observer):
    """Ends the run after iteration `k`, as a crash right after its checkpoint would."""

    def __init__(self, k):
        self.k = k

    def iterated(self, iteration):
        if not iteration.replayed and iteration.row.iteration == self.k:
            raise StopRun("test")


class CountEvaluations(Observer):
    def __init__(self):
        self.count = 0

    def evaluated(self, evaluation):
        self.count += 1


def run(small_images, settings, tmp_path, name, **kwargs):
    out = tmp_path / name
    return stylize(small_images["content"], [small_images["style"]], settings, output=out / "r.png",
                   frames_dir=out / "frames", history_path=out / "h.csv", progress=False, **kwargs)


def same_files(a: Path, b: Path) -> None:
    assert (a / "r.png").read_bytes() == (b / "r.png").read_bytes()
    frames = sorted(p.name for p in (a / "frames").iterdir())
    assert frames == sorted(p.name for p in (b / "frames").iterdir())
    for name in frames:
        assert (a / "frames" / name).read_bytes() == (b / "frames" / name).read_bytes(), name
    strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # all but the seconds
    assert strip((a / "h.csv").read_text()) == strip((b / "h.csv").read_text())


@pytest.mark.parametrize(
    "extra",
    [{}, {"optimizer": "adam", "learning_rate": 5.0}, {"scales": [32]}, {"lbfgs_step": 1.0, "lbfgs_bounds": True},
     {"style_masks": "left half", "scales": [32]},
     {"optimizer": "lbfgs32", "lbfgs_restarts": False, "lbfgs_bounds": True, "lbfgs_step": 1.0, "scales": [32],
      "coarse_style": 0.25},
     {"optimizer": "lbfgs32"}],
    ids=["lbfgs", "adam", "coarse-to-fine", "bounded", "masked", "float32-one-run", "float32-restarted"],
)
def test_a_stopped_run_resumes_to_the_same_files(tmp_path, small_images, extra):
    if "style_masks" in extra:  # the style on the left half, the photo kept on the right
        from PIL import Image

        mask = np.zeros((64, 64), np.uint8)
        mask[:, :32] = 255
        Image.fromarray(mask).save(tmp_path / "left.png")
        extra = {**extra, "style_masks": [str(tmp_path / "left.png")]}
    stopped_anywhere_resumes(tmp_path, small_images, TransferSettings(**TINY, **extra))


@pytest.mark.parametrize(
    "extra",
    [{}, {"optimizer": "adam", "learning_rate": 5.0},
     {"optimizer": "lbfgs32", "lbfgs_restarts": False, "lbfgs_bounds": True, "lbfgs_step": 1.0}],
    ids=["lbfgs", "adam", "float32-one-run"],
)
def test_a_stopped_pytorch_run_resumes_to_the_same_files(tmp_path, small_images, extra):
    """The same on the PyTorch backend, whose float32 L-BFGS and Adam keep their state on its device."""
    pytest.importorskip("torch")
    stopped_anywhere_resumes(tmp_path, small_images, TransferSettings(**TINY, **extra, backend="torch", device="cpu"))


def stopped_anywhere_resumes(tmp_path, small_images, settings) -> None:
    """Stopped after each iteration in turn and run again, the run ends with the uninterrupted run's files."""
    run(small_images, settings, tmp_path, "whole")
    for k in range(settings.frame_count() - 1):
        checkpoint = tmp_path / f"ck{k}"
        first = run(small_images, settings, tmp_path, f"part{k}", checkpoint=checkpoint, observers=[StopAfter(k)])
        assert first.status == "stopped"
        counter = CountEvaluations()
        resumed = run(small_images, settings, tmp_path, f"part{k}", checkpoint=checkpoint, observers=[counter])
        assert resumed.status == "completed" and 0 < counter.count < resumed.record.evaluations
        same_files(tmp_path / "whole", tmp_path / f"part{k}")


def test_a_finished_run_is_only_written_out_again(tmp_path, small_images):
    settings = TransferSettings(**TINY)
    checkpoint = tmp_path / "ck"
    first = run(small_images, settings, tmp_path, "first", checkpoint=checkpoint, record_path=tmp_path / "r1.json")
    counter = CountEvaluations()
    again = run(small_images, settings, tmp_path, "again", checkpoint=checkpoint, observers=[counter],
                record_path=tmp_path / "r2.json")
    assert counter.count == 0 and again.record == first.record
    assert (tmp_path / "r1.json").read_text() == (tmp_path / "r2.json").read_text()
    same_files(tmp_path / "first", tmp_path / "again")


@pytest.mark.parametrize(
    "extra, why",
    [({}, None), ({"optimizer": "adam", "learning_rate": 5.0}, None), ({"optimizer": "lbfgs32"}, None),
     ({"scales": [32], "scale_evals": [4]}, None),
     ({"optimizer": "lbfgs32", "backend": "torch", "device": "cpu"}, None),
     ({"optimizer": "lbfgs32", "lbfgs_restarts": False}, "one L-BFGS without restarts spends the whole budget"),
     ({"scales": [32]}, "the coarse stages run iterations each too")],
    ids=["lbfgs", "adam", "float32", "coarse-to-fine", "float32-pytorch", "one-run", "coarse-iterations"],
)
def test_a_finished_run_asked_for_more_iterations_goes_on_where_that_is_the_same_run(tmp_path, small_images, caplog,
                                                                                     extra, why):
    """Raising --iterations of a finished run (nothing else) continues it from its last iteration, and it ends
    with the files of a run that long from the start; where the longer run is not the shorter one continued, it
    starts afresh and says why."""
    if extra.get("backend") == "torch":
        pytest.importorskip("torch")
    short, long = TransferSettings(**TINY, **extra), TransferSettings(**{**TINY, "iterations": 5}, **extra)
    run(small_images, long, tmp_path, "whole")
    checkpoint = tmp_path / "ck"
    first = run(small_images, short, tmp_path, "part", checkpoint=checkpoint)
    counter = CountEvaluations()
    longer = run(small_images, long, tmp_path, "part", checkpoint=checkpoint, observers=[counter])
    same_files(tmp_path / "whole", tmp_path / "part")
    notices = [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]
    if why is None:
        assert counter.count == longer.record.evaluations - first.record.evaluations
        assert notices == [f"notice: checkpoint {checkpoint} holds 3 of this run's iterations (it was to make 3); "
                           "going on to 5"]
    else:
        assert counter.count == longer.record.evaluations
        assert len(notices) == 1 and f"(settings iterations: 3 then, 5 now; {why}" in notices[0]
    again = CountEvaluations()  # the longer run is finished in its turn: asked again, only written out
    assert run(small_images, long, tmp_path, "part", checkpoint=checkpoint, observers=[again]).record == longer.record
    assert again.count == 0


def test_a_stopped_run_goes_on_to_another_number_of_iterations_unless_it_went_past_it(tmp_path, small_images, caplog):
    """Stopped after 1 of 5 iterations and asked for 2, the run goes on to a 2-iteration run's files; asked then
    for 1, which the checkpoint's 2 went past, it starts afresh and says so."""
    five, two, one = (TransferSettings(**{**TINY, "iterations": n}) for n in (5, 2, 1))
    run(small_images, two, tmp_path, "whole")
    checkpoint = tmp_path / "ck"
    run(small_images, five, tmp_path, "part", checkpoint=checkpoint, observers=[StopAfter(0)])
    counter = CountEvaluations()
    result = run(small_images, two, tmp_path, "part", checkpoint=checkpoint, observers=[counter])
    same_files(tmp_path / "whole", tmp_path / "part")
    assert 0 < counter.count < result.record.evaluations
    afresh = CountEvaluations()
    shorter = run(small_images, one, tmp_path, "one", checkpoint=checkpoint, observers=[afresh])
    assert afresh.count == shorter.record.evaluations
    notices = [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]
    assert notices == [
        f"notice: checkpoint {checkpoint} holds 1 of this run's iterations (it was to make 5); going on to 2",
        f"notice: checkpoint {checkpoint} is of another run (settings iterations: 2 then, 1 now; it holds 2 "
        "iterations, more than asked for); starting afresh"]


def test_a_checkpoint_written_before_an_option_existed_resumes_as_that_options_default(tmp_path, small_images):
    """A run stopped under an older nst, whose settings lack options added since (coarse_style, backend,
    device), still spell the luminance mode as preserve_color, and whose fingerprint names no backend
    (there was only TensorFlow), ran as those defaults do: the upgraded nst resumes it instead of
    starting afresh."""
    import json

    settings = TransferSettings(**TINY)
    run(small_images, settings, tmp_path, "whole")
    checkpoint = tmp_path / "ck"
    run(small_images, settings, tmp_path, "part", checkpoint=checkpoint, observers=[StopAfter(0)])
    with np.load(checkpoint / "checkpoint.npz") as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"]))
    for added in ("coarse_style", "backend", "device"):
        del meta["fingerprint"]["settings"][added]
    del meta["fingerprint"]["settings"]["color_transfer"]
    meta["fingerprint"]["settings"]["preserve_color"] = False
    del meta["fingerprint"]["backend"]
    np.savez(checkpoint / "checkpoint.npz", **{**arrays, "meta": np.array(json.dumps(meta))})
    counter = CountEvaluations()
    resumed = run(small_images, settings, tmp_path, "part", checkpoint=checkpoint, observers=[counter])
    assert 0 < counter.count < resumed.record.evaluations
    same_files(tmp_path / "whole", tmp_path / "part")


def test_a_checkpoint_of_another_run_is_not_mixed_in(tmp_path, small_images, caplog):
    checkpoint = tmp_path / "ck"
    run(small_images, TransferSettings(**TINY), tmp_path, "a", checkpoint=checkpoint, observers=[StopAfter(0)])
    counter = CountEvaluations()
    other = TransferSettings(**{**TINY, "style_weight": 50.0})
    result = run(small_images, other, tmp_path, "b", checkpoint=checkpoint, observers=[counter])
    assert counter.count == result.record.evaluations  # everything computed afresh
    notices = [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]
    assert len(notices) == 1 and "is of another run (settings style_weight: 5.0 then, 50.0 now)" in notices[0]
    np.testing.assert_array_equal(result.image, stylize(small_images["content"], [small_images["style"]], other,
                                                        progress=False).image)


def test_one_long_scipy_lbfgs_run_resumes_from_its_image_with_the_remaining_budget(tmp_path, small_images):
    """scipy keeps one run's memory to itself: a resume restarts L-BFGS (documented), the frames are all there."""
    settings = TransferSettings.from_preset("fast", **{k: v for k, v in TINY.items() if k != "precision"},
                                            precision="float32", optimizer="lbfgs")
    checkpoint = tmp_path / "ck"
    run(small_images, settings, tmp_path, "x", checkpoint=checkpoint, observers=[StopAfter(0)])
    resumed = run(small_images, settings, tmp_path, "x", checkpoint=checkpoint)
    assert [r.iteration for r in resumed.history] == [0, 1, 2]
    assert len(list((tmp_path / "x" / "frames").iterdir())) == 3


# --- real processes, killed ------------------------------------------------------------------

# Runs `nst` and kills it with SIGKILL at the moment KILL_AT names, by wrapping what it calls:
#   evaluation:N  during the N-th loss evaluation     inside:K  halfway through writing checkpoint K
#   after:K       right after checkpoint K is in place
#   pause:N       during the N-th evaluation, create the file PAUSED and wait there for a signal, so a
#                 test can signal the run at a known point whatever the CPU's speed
KILLER = """
import os, signal, sys, time
from pathlib import Path
import numpy as np
moment, n = os.environ["KILL_AT"].split(":")
n, calls = int(n), {"evaluation": 0, "save": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

import nst.objective, nst.checkpoint
value_and_grad = nst.objective.Objective.value_and_grad
def counted(self, image, targets):
    calls["evaluation"] += 1
    if moment == "evaluation" and calls["evaluation"] == n:
        die()
    if moment == "pause" and calls["evaluation"] == n:
        Path(os.environ["PAUSED"]).touch()
        time.sleep(600)  # a signal's handler ends this
        sys.exit("nst was not signalled")
    return value_and_grad(self, image, targets)
nst.objective.Objective.value_and_grad = counted

savez, replace = np.savez, os.replace
def half_written(f, **arrays):
    calls["save"] += 1
    if moment == "inside" and calls["save"] == n:
        f.write(b"PK\\x03\\x04" + bytes(4096))
        f.flush()
        die()
    savez(f, **arrays)
def replaced(source, target):
    replace(source, target)
    if moment == "after" and str(target).endswith("checkpoint.npz") and calls["save"] == n:
        die()
nst.checkpoint.np.savez = half_written
nst.checkpoint.os.replace = replaced
nst.files.os.replace = replaced

from nst.cli import main
sys.exit(main(sys.argv[1:]))
"""

CLI_TINY = ["--size", "48", "--iterations", "4", "--evals-per-iteration", "3", "--seed", "5", "--precision", "float32",
            "--scales", "32", "--scale-evals", "4", "--quiet"]


def nst_transfer(small_images, folder: Path, checkpoint: Path | None, kill_at: str | None = None):
    args = ["transfer", str(small_images["content"]), str(small_images["style"]), "-o", str(folder / "r.png"),
            "--frames", str(folder / "frames"), "--history", str(folder / "h.csv"), *CLI_TINY]
    if checkpoint is not None:
        args += ["--checkpoint", str(checkpoint)]
    command = [sys.executable, "-c", KILLER, *args] if kill_at else [sys.executable, "-m", "nst", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KILL_AT": kill_at or ""})


@pytest.fixture(scope="module")
def uninterrupted(small_images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    assert nst_transfer(small_images, folder, None).returncode == 0
    return folder


# one iteration of 4 evaluations at 32 px, then 4 of 3 at 48 px: 25 evaluations, 6 checkpoint writes
@pytest.mark.parametrize("kill_at", ["evaluation:2", "inside:1", "after:2", "evaluation:17", "inside:4", "after:5",
                                     "inside:6"])
def test_killed_with_sigkill_at_any_moment_then_rerun_gives_the_same_files(tmp_path, small_images, uninterrupted,
                                                                         kill_at):
    checkpoint = tmp_path / "ck"
    killed = nst_transfer(small_images, tmp_path, checkpoint, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (tmp_path / "r.png").exists() == (kill_at == "inside:6")  # written just before the checkpoint's last write
    rerun = nst_transfer(small_images, tmp_path, checkpoint)
    assert rerun.returncode == 0, rerun.stderr
    if kill_at not in ("evaluation:2", "inside:1"):  # a checkpoint was on disk
        assert "nst: resumed at iteration" in rerun.stderr
    same_files(uninterrupted, tmp_path)
    assert not [p for p in checkpoint.iterdir() if p.name.startswith(".")]  # no half-written file left behind


def test_sigterm_writes_nothing_half_and_says_how_to_resume(tmp_path, small_images, uninterrupted):
    """SIGTERM in the middle of an evaluation (the 8th, in the second stage): the run stops there, at once."""
    checkpoint, paused = tmp_path / "ck", tmp_path / "paused"
    args = ["transfer", str(small_images["content"]), str(small_images["style"]), "-o", str(tmp_path / "r.png"),
            "--frames", str(tmp_path / "frames"), "--history", str(tmp_path / "h.csv"), "--checkpoint", str(checkpoint),
            *CLI_TINY]
    process = subprocess.Popen([sys.executable, "-c", KILLER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "KILL_AT": "pause:8", "PAUSED": str(paused)})
    deadline = time.monotonic() + 300
    while not paused.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert paused.exists(), process.communicate()[1]
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("nst: stopped by SIGTERM; ") and "run the same command again to resume" in last, stderr
    assert not (tmp_path / "r.png").exists()
    rerun = subprocess.run([sys.executable, "-m", "nst", *args], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "nst: resumed at iteration" in rerun.stderr
    same_files(uninterrupted, tmp_path)
