"""The workflow's video steps: a clip's frames folder, its motion files, and one run's frame chain.

    video_frames:   clip -> results/videos/inputs/<clip>/frame_%05d.png + <clip>.json
    video_motion:   frames -> results/videos/motion/<clip>/motion_%05d.npz (backward flow, reliability)
    video_transfer: frames + motion + style -> the chain (nst.video.chain) in results/checkpoints/videos/<run>/,
                    then the styled frames, history.csv and run.json of the run
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import images
from ..files import write_text_atomic
from ..video.chain import FrameChain, motion_between, write_history
from ..video.clips import Clip, read_clip
from ..video.settings import VideoSettings

FRAME = "frame_{:05d}.png"
MOTION = "motion_{:05d}.npz"


def write_frames(source: str | Path, folder: str | Path, info_path: str | Path, size: int, video: VideoSettings
                 ) -> None:
    """The clip's frames (its range and stride) at the result's size, and what the later steps need
    of it: frame rate, count, size, the source and the span its sound is taken from."""
    clip = read_clip(source, video.start, video.stop, video.step, video.fps)
    folder = Path(folder)
    h, w = clip.frames[0].shape[:2]
    width, height = images.fit_size(w, h, size)
    for k, frame in enumerate(clip.frames):
        picture = images.resize(images.Image.fromarray(frame), (width, height))
        images.save_png(np.asarray(picture), folder / FRAME.format(k))
    info = {"frames": len(clip.frames), "width": width, "height": height, "fps": str(clip.fps),
            "seconds": list(clip.seconds), "source": str(source)}
    write_text_atomic(info_path, json.dumps(info, indent=1))


def read_info(info_path: str | Path) -> Clip:
    """What `write_frames` recorded of a clip (frame rate, source, span), without its frames."""
    info = json.loads(Path(info_path).read_text())
    return Clip([], Fraction(info["fps"]), Path(info["source"]), tuple(info["seconds"]))


def read_frames(folder: str | Path, info_path: str | Path) -> Clip:
    """A frames folder as a clip, with the frame rate, source and span `write_frames` recorded."""
    clip = read_info(info_path)
    clip.frames = [np.asarray(images.load_rgb(p)) for p in sorted(Path(folder).glob("frame_*.png"))]
    return clip


def write_motion(frames: str | Path, info: str | Path, folder: str | Path, threads: int = 1) -> None:
    """Every neighbouring pair's backward flow and reliability, the pairs in parallel (OpenCV
    releases the GIL while it computes)."""
    clip = read_frames(frames, info)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def one(k: int) -> None:
        backward, weight = motion_between(clip.frames[k - 1], clip.frames[k])
        tmp = folder / f".{MOTION.format(k)}"
        with open(tmp, "wb") as f:
            np.savez(f, backward=backward.astype(np.float32), reliability=weight.astype(np.uint8))
        tmp.replace(folder / MOTION.format(k))

    with ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(one, range(1, len(clip.frames))))


def motion_reader(folder: str | Path):
    """Frame k's (backward flow, reliability) from the motion folder, as nst.video.chain asks."""
    folder = Path(folder)

    def motion(k: int) -> tuple[np.ndarray, np.ndarray]:
        with np.load(folder / MOTION.format(k)) as saved:
            return saved["backward"], saved["reliability"].astype(np.float32)

    return motion


def run_video(frames: str | Path, info: str | Path, motion: str | Path, styles: list[str], settings,
              video: VideoSettings, work: str | Path, styled: str | Path, history: str | Path, record: str | Path
              ) -> None:
    """One video run: its chain (resumable in `work`), then its frames, history and record."""
    clip = read_frames(frames, info)
    chain = FrameChain(clip, styles, settings, work, video, motion_reader(motion))
    result = chain.run()
    styled = Path(styled)
    for k in range(len(result.frames)):
        images.save_png(result.frames[k], styled / FRAME.format(k))
    write_history(result.rows, history)
    first = json.loads(chain.run_record_path(0).read_text())
    summary = {**first, "frames": len(result.rows), "fps": str(clip.fps),
               "evaluations": sum(r.evaluations for r in result.rows),
               "seconds": {"total": round(sum(r.seconds for r in result.rows), 3)},
               "final_losses": result.rows[-1].losses, "output": str(styled)}
    write_text_atomic(record, json.dumps(summary, indent=1))


def styled_frames(folder: str | Path) -> list[np.ndarray]:
    folder = Path(folder)
    return [np.asarray(images.load_rgb(p)) for p in sorted(folder.glob("frame_*.png"))]
