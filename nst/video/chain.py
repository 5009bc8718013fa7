"""The frame chain of a video: each frame one transfer of the run loop, started from the previous
stylised frame warped onto it and held near it by the temporal term (Ruder et al. 2016).

    frame 0:  a transfer of the settings (the temporal term given reliability 0: it adds nothing)
    frame t:  w = result t-1 warped along the backward flow, c = its reliability (nst.video.flow)
              init = w (or, fill="content", c·w + (1-c)·frame t), guides previous=w, reliability=c,
              the last stage only, the later frames' budget

Everything a frame needs is made from files the chain keeps in its work folder (the frames at
the result's size, each stylised frame as saved, the flows), so a chain stopped anywhere resumes
at the frame it was on: finished frames are kept, the frame in progress continues from its own
checkpoint, bit for bit as a single transfer does. `independent=True` styles every frame on its
own from the content (what the temporal figures compare with).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import images
from ..files import sha256_of, write_text_atomic
from ..settings import TransferSettings
from . import flow as flows
from .clips import Clip
from .settings import VideoSettings

log = logging.getLogger("nst")

FRAME = "frame_{:05d}.png"


@dataclass
class FrameRow:
    frame: int
    losses: dict  # the frame's final weighted losses by term, and total
    evaluations: int
    seconds: float


@dataclass
class ChainResult:
    frames: list[np.ndarray]  # (H, W, 3) uint8 RGB, as saved
    rows: list[FrameRow] = field(default_factory=list)


def frame_settings(settings: TransferSettings, video: VideoSettings, index: int, init: str | None) -> TransferSettings:
    """The transfer settings of frame `index` (`settings` as `VideoSettings.for_video` gave them): after
    the first frame, only the last stage (the warped result is already at full size), from `init`,
    within the later frames' budget."""
    if not index or video.independent:
        return settings
    # the budget in the settings' own iterations (each a checkpoint: a stopped frame resumes within it)
    iterations = -(-video.later_budget(settings) // settings.evals_per_iteration)
    return dataclasses.replace(settings, scales=[], scale_evals=[], init=init, iterations=iterations)


def checked(settings: TransferSettings, video: VideoSettings, n_styles: int) -> TransferSettings:
    """A video's transfer settings (with the temporal term as `video` asks), every value checked."""
    video.validate()
    return video.for_video(settings).validate(n_styles=n_styles)


# What the chain itself does with a VideoSettings (which frames it gets is in the frames' fingerprint).
CHAIN_OPTIONS = ("frame_evals", "independent", "fill")


class FrameChain:
    """A clip's frames stylised in order in `work` (a folder), resumably."""

    def __init__(self, clip: Clip, styles: list[str], settings: TransferSettings, work: str | Path,
                 video: VideoSettings = VideoSettings(),
                 motion: Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None):
        """The one way a chain is made (`nst video` and the workflow's video rule both come here):
        `settings` are the transfer's, the temporal term's weight among its terms (`video.for_video`).
        `motion(k)`: frame k's backward flow onto frame k-1 and its reliability, at the result's
        size (the workflow's flow rule computes them ahead; by default they are computed here)."""
        self.settings = checked(settings, video, len(styles))
        self.clip, self.styles, self.video = clip, [str(s) for s in styles], video
        self.work = Path(work)
        h, w = clip.frames[0].shape[:2]
        self.width, self.height = images.fit_size(w, h, settings.size)
        self._motion = motion or self._computed_motion

    # --- the work folder ----------------------------------------------------------------------

    def content_path(self, k: int) -> Path:
        return self.work / "content" / FRAME.format(k)

    def styled_path(self, k: int) -> Path:
        return self.work / "styled" / FRAME.format(k)

    def _record_path(self, k: int) -> Path:
        return self.work / "records" / FRAME.format(k).replace(".png", ".json")

    def run_record_path(self, k: int) -> Path:
        """Frame k's transfer's run record (settings, network, precision, device, seconds)."""
        return self.work / "records" / FRAME.format(k).replace(".png", ".run.json")

    def _write_contents(self) -> None:
        """Each frame at the result's size, once (what the transfers and the flows read)."""
        for k, frame in enumerate(self.clip.frames):
            path = self.content_path(k)
            if not path.exists():
                picture = images.resize(images.Image.fromarray(frame), (self.width, self.height))
                images.save_png(np.asarray(picture), path)

    def content(self, k: int) -> np.ndarray:
        return np.asarray(images.load_rgb(self.content_path(k)))

    def _computed_motion(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return motion_between(self.content(k - 1), self.content(k))

    # --- the chain ------------------------------------------------------------------------------

    def fingerprint(self) -> dict:
        """What makes this chain this chain: its frames, styles, settings and the chain's own."""
        import hashlib

        frames = hashlib.sha256()
        for frame in self.clip.frames:
            frames.update(np.ascontiguousarray(frame).tobytes())
        return {"frames": frames.hexdigest(), "styles": [sha256_of(s) for s in self.styles],
                "settings": self.settings.to_dict(), "chain": {k: getattr(self.video, k) for k in CHAIN_OPTIONS},
                "size": [self.width, self.height]}

    def _claim_work(self) -> None:
        """Keep what an earlier process of this same chain left in the work folder; clear another chain's."""
        import json

        marker = self.work / "chain.json"
        current = json.loads(json.dumps(self.fingerprint()))
        if marker.exists():
            if json.loads(marker.read_text()) == current:
                return
            log.warning("notice: %s held another clip's frames (its clip, styles or settings differ); starting afresh",
                        self.work)
            shutil.rmtree(self.work)
        write_text_atomic(marker, json.dumps(current, indent=1))

    def run(self, observers_for: Callable[[int], list] = lambda k: [], progress: Callable[[FrameRow], None] = None
            ) -> ChainResult:
        from ..transfer import stylize

        self._claim_work()
        self._write_contents()
        rows = []
        for k in range(len(self.clip.frames)):
            record = self._record_path(k)
            if record.exists() and self.styled_path(k).exists():  # finished by this or an earlier process
                rows.append(_row_from(record))
                continue
            guides, init = self._guides_and_init(k)
            started = time.perf_counter()
            result = stylize(self.content_path(k), self.styles, frame_settings(self.settings, self.video, k, init),
                             output=self.styled_path(k), progress=False, observers=observers_for(k),
                             checkpoint=self.work / "checkpoints" / str(k), guides=guides, announce=k == 0,
                             record_path=self.run_record_path(k))
            row = FrameRow(k, result.record.final_losses, result.record.evaluations,
                           round(time.perf_counter() - started, 3))
            write_text_atomic(record, _row_json(row))
            shutil.rmtree(self.work / "checkpoints" / str(k), ignore_errors=True)
            rows.append(row)
            if progress is not None:
                progress(row)
        return ChainResult([np.asarray(images.load_rgb(self.styled_path(k))) for k in range(len(rows))], rows)

    def _guides_and_init(self, k: int) -> tuple[dict | None, str | None]:
        """Frame k's guides (the warped previous result and its reliability) and the path of its
        start image; for the first frame (or independent frames) reliability 0 and no start image."""
        frame = self.content(k).astype(np.float32)
        if self.video.independent:
            return None, None
        if k == 0:
            return {"previous": frame, "reliability": np.zeros((*frame.shape[:2], 1), np.float32)}, None
        backward, weight = self._motion(k)
        weight = np.asarray(weight, np.float32).reshape(*backward.shape[:2], 1)
        previous = np.asarray(images.load_rgb(self.styled_path(k - 1)), np.float32)
        warped = np.clip(flows.warp(previous, backward, sharp=True), 0, 255)
        init = self.work / "init" / FRAME.format(k)
        start = warped if self.video.fill == "warped" else weight * warped + (1 - weight) * frame
        images.save_png(np.rint(np.clip(start, 0, 255)).astype(np.uint8), init)
        return {"previous": warped, "reliability": weight}, str(init)


def motion_between(before: np.ndarray, now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The backward flow of frame `now` onto `before` and its reliability (both flows' check)."""
    forward, backward = flows.flow(before, now), flows.flow(now, before)
    return backward, flows.reliability(forward, backward)


def write_history(rows: list[FrameRow], path: str | Path) -> None:
    """One row per frame: its losses (`total_loss`, then `<term>_loss`), evaluations and seconds."""
    terms = [t for t in rows[0].losses if t != "total"] if rows else []
    columns = ["frame", "total_loss", *[f"{t}_loss" for t in terms], "evaluations", "seconds"]
    lines = [",".join(columns)]
    for row in rows:
        values = [row.frame, row.losses["total"], *[row.losses.get(t, "") for t in terms], row.evaluations,
                  row.seconds]
        lines.append(",".join(str(v) for v in values))
    write_text_atomic(path, "\n".join(lines) + "\n")


def _row_json(row: FrameRow) -> str:
    import json

    return json.dumps(dataclasses.asdict(row))


def _row_from(path: Path) -> FrameRow:
    import json

    return FrameRow(**json.loads(path.read_text()))


def read_history(path: str | Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
