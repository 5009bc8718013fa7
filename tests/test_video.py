"""Video (nst/video/chain.py, `nst video`): the frame chain on the project's own clip, its temporal
term, resuming at the frame it was on, the clip out with its sound, bad clips refused in one line."""

import json
import shutil
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from nst.settings import TransferSettings
from nst.video.chain import FrameChain, read_history
from nst.video.clips import Clip, read_clip, write_clip
from nst.video.settings import VideoSettings
from nst.video.synthetic import synthetic_clip
from snakemake_runner import ROOT

STYLE = str(ROOT / "data/styles/strokes.png")
# the article's restarted L-BFGS (a checkpoint per iteration), small and in float32: bit-identical anywhere
SMALL = dict(size=96, iterations=3, evals_per_iteration=4, seed=0, precision="float32", init="content")


@pytest.fixture(scope="module")
def frames():
    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    return synthetic_clip(photo, frames=4, size=(128, 72)).frames


def chain_of(frames, work, **chain):
    return FrameChain(Clip(frames, Fraction(12), None), [STYLE], TransferSettings(**SMALL), work,
                      VideoSettings(frame_evals=8, **chain))


class InterruptAt:
    """Stops the process (as Ctrl-C would) after frame `frame`'s first iteration, once it is saved."""

    def __init__(self, frame):
        self.frame = frame

    def __call__(self, k):
        from nst.run import Observer

        stop = self

        class Interrupt(Observer):
            def iterated(self, iteration):
                if k == stop.frame and not iteration.replayed:
                    raise KeyboardInterrupt

        return [Interrupt()]


def test_the_chain_adds_the_temporal_term_after_the_first_frame_and_resumes_at_its_frame(tmp_path, frames):
    whole = chain_of(frames, tmp_path / "whole").run()
    assert [row.evaluations > 0 for row in whole.rows] == [True] * 4
    assert whole.rows[0].losses["temporal"] == 0 and all(row.losses["temporal"] > 0 for row in whole.rows[1:])
    assert all(8 <= row.evaluations <= 12 for row in whole.rows[1:])  # 2 restarted L-BFGS runs of 4 (and a line search)
    interrupted = chain_of(frames, tmp_path / "cut")
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(observers_for=InterruptAt(2))
    assert (tmp_path / "cut/styled/frame_00001.png").exists() and not (tmp_path / "cut/styled/frame_00002.png").exists()
    assert (tmp_path / "cut/checkpoints/2").is_dir()  # frame 2 stopped after its first iteration
    done = []
    resumed = chain_of(frames, tmp_path / "cut").run(progress=done.append)
    assert [row.frame for row in done] == [2, 3]  # frames 0 and 1 were kept, not made again
    for k in range(4):
        assert (tmp_path / f"cut/styled/frame_{k:05d}.png").read_bytes() == \
            (tmp_path / f"whole/styled/frame_{k:05d}.png").read_bytes(), k
    assert [r.losses for r in resumed.rows] == [r.losses for r in whole.rows]
    assert not (tmp_path / "cut/checkpoints/2").exists()


def test_another_clips_work_folder_is_not_mixed_in(tmp_path, frames, caplog):
    chain_of(frames[:2], tmp_path / "w").run()
    flipped = [f[:, ::-1].copy() for f in frames[:2]]
    done = []
    chain_of(flipped, tmp_path / "w").run(progress=done.append)
    assert [row.frame for row in done] == [0, 1] and "held another clip's frames" in caplog.text


def nst_video(*args):
    return subprocess.run([sys.executable, "-m", "nst", "video", *map(str, args)], capture_output=True, text=True)


def test_nst_video_writes_the_clip_with_its_rate_sound_and_a_history(tmp_path, frames):
    from test_video_clips import clip_with_sound, sound_seconds

    source = tmp_path / "clip.mp4"
    clip_with_sound(source, frames, fps=12)
    out = tmp_path / "styled.mp4"
    done = nst_video(source, STYLE, "-o", out, "--size", "96", "--iterations", "2", "--evals-per-iteration", "3",
                     "--seed", "0", "--frame-evals", "3", "--history", tmp_path / "h.csv", "--start", "1",
                     "--temporal-weight", "120", "--work", tmp_path / "work")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "3 frames, 96x54, 12 fps" in done.stdout
    assert done.stderr.count("frame ") == 3 and done.stderr.count("notice: VGG16") <= 1
    back = read_clip(out)
    assert len(back.frames) == 3 and back.fps == 12 and back.frames[0].shape == (54, 96, 3)
    assert sound_seconds(out) == pytest.approx(3 / 12, abs=0.05)
    rows = read_history(tmp_path / "h.csv")
    assert [r["frame"] for r in rows] == ["0", "1", "2"] and float(rows[0]["temporal_loss"]) == 0
    assert float(rows[2]["temporal_loss"]) > 0
    records = sorted((tmp_path / "work/records").glob("*.run.json"))
    assert [json.loads(r.read_text())["settings"]["terms"] for r in records] == [{"temporal": 120.0}] * 3
    shutil.rmtree(tmp_path / "work")  # kept because --work named it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "h.csv", "styled.mp4"]


@pytest.mark.parametrize("case, expected", [
    ("not_a_video", "notes.mp4: not a video FFmpeg can read"),
    ("no_frames", "empty: no frames"),
    ("sizes_change", "frames change size (128x72, then 64x36)"),
    ("no_codec", "out.avi: cannot write .avi clips; write .mp4, .webm, .gif or a folder"),
    ("bad_range", "option step: must be a whole number >= 1, got 0"),
    ("sixteen_bits", "option output_depth: a clip is written with 8 bits per channel"),
])
def test_a_bad_clip_is_one_line_exit_2_and_no_output(tmp_path, frames, case, expected):
    clip, out, extra = tmp_path / "clip", tmp_path / "out.mp4", []
    write_clip(frames[:2], clip, 12)  # a folder of PNG frames
    if case == "not_a_video":
        clip = tmp_path / "notes.mp4"
        clip.write_text("hello")
    elif case == "no_frames":
        clip = tmp_path / "empty"
        clip.mkdir()
    elif case == "sizes_change":
        Image.fromarray(frames[2][::2, ::2]).save(clip / "frame_00002.png")
    elif case == "no_codec":
        out = tmp_path / "out.avi"
    elif case == "bad_range":
        extra = ["--step", "0"]
    elif case == "sixteen_bits":
        extra = ["--output-depth", "16"]
    done = nst_video(clip, STYLE, "-o", out, "--size", "64", "--iterations", "1", "--evals-per-iteration", "2", *extra)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


# --- the workflow: videos: a clip x styles x weights, its motion rule, encoding, preview, summary ---


def video_config(folder, frames):
    import yaml

    from test_video_clips import clip_with_sound

    clip_with_sound(folder / "pan.mp4", frames, fps=12)
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({
        "videos": {"pan": "pan.mp4"},
        "styles": {"strokes": STYLE},
        "weights": [[0.025, 5, 1], {"temporal": 200}],
        "size": 96,
        "video": {"frame_evals": 6},
        "nst": {"iterations": 2, "evals_per_iteration": 3, "precision": "float32", "init": "content"},
    }))
    return config


RUN = "c_pan_s_strokes_cw_0.025_sw_5_tvw_1_temporal_{}"


def styled_bytes(folder, weight):
    return [p.read_bytes() for p in sorted((folder / "results/videos" / RUN.format(weight) / "frames").glob("*.png"))]


@pytest.fixture(scope="module")
def video_sweep(tmp_path_factory, frames):
    from snakemake_runner import snakemake

    folder = tmp_path_factory.mktemp("video_sweep")
    config = video_config(folder, frames)
    snakemake(folder, "--cores", "2", "--configfile", config)
    return folder, config


def test_a_video_sweep_makes_each_clip_its_preview_and_summary_rows(video_sweep):
    import csv

    from test_video_clips import sound_seconds

    folder, config = video_sweep
    for weight in (200, 50):
        run = RUN.format(weight)
        out = folder / "results/videos" / run
        clip = read_clip(out / f"{run}.mp4")
        assert len(clip.frames) == 4 and clip.fps == 12 and clip.frames[0].shape == (54, 96, 3)
        assert sound_seconds(out / f"{run}.mp4") == pytest.approx(4 / 12, abs=0.05)
        assert Image.open(out / "preview.gif").n_frames == 4
        assert len(list((out / "frames").glob("frame_*.png"))) == 4
    assert len(list((folder / "results/videos/motion/pan").glob("*.npz"))) == 3  # one file per frame pair
    with open(folder / "results/summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["run"], r["frame"], r["temporal_weight"]) for r in rows) == sorted(
        (RUN.format(w), str(k), str(w)) for w in (200, 50) for k in range(4))
    assert all(float(r["temporal_loss"]) > 0 for r in rows if r["frame"] != "0")
    for weight in (200, 50):  # each run ran with its own temporal weight, and its record says so
        record = json.loads((folder / "results/videos" / RUN.format(weight) / "run.json").read_text())
        assert record["settings"]["terms"] == {"temporal": weight}
    assert styled_bytes(folder, 200)[0] == styled_bytes(folder, 50)[0]  # frame 0: no temporal term yet
    assert styled_bytes(folder, 200)[1:] != styled_bytes(folder, 50)[1:]


def test_a_killed_video_job_resumes_at_its_frame(tmp_path, video_sweep, frames):
    """SIGKILL the chain in its third frame (after that frame's first checkpoint); run again."""
    import os
    import signal

    from snakemake_runner import SNAKEMAKE, paused, snakemake, wait_for_pause

    config, marker = video_config(tmp_path, frames), tmp_path / "paused"
    hooked = paused(marker, at=5)  # frames 0, 1: two checkpoints each
    process = subprocess.Popen([*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", "--configfile", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=hooked)
    wait_for_pause(marker, process)
    assert marker.exists(), "no video job reached its fifth checkpoint"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    work = next((tmp_path / "results/checkpoints/videos").iterdir())
    assert sorted(p.name for p in (work / "styled").iterdir()) == ["frame_00000.png", "frame_00001.png"]
    snakemake(tmp_path, "--unlock", "--configfile", config)
    snakemake(tmp_path, "--cores", "2", "--configfile", config)
    log = (tmp_path / "results/logs/video_transfer" / f"{work.name}.log").read_text()
    assert log.count("resumed at iteration 1") == 1  # frame 2, from its checkpoint; frames 0 and 1 kept
    for weight in (200, 50):
        assert styled_bytes(tmp_path, weight) == styled_bytes(video_sweep[0], weight)
