"""Video on the project's own clip: temporal consistency against frames styled independently, the
warm start, the time of a whole clip, drift on a static scene. Writes the README's GIF.

    python benchmarks/video.py [--frames 48] [--independent-frames 12] [--gif docs/video_side_by_side.gif]

The clip: nst.video.synthetic (coffee.png panned and zoomed, a textured disc crossing), 512x288,
whose true motion is known. Both chains: strokes, `--preset fast`, seed 0, precision auto; the
temporal one with nst video's defaults (temporal weight, three tenths of the first frame's evaluations
for each later frame), the independent one every frame from its own content with the whole budget.

- consistency: the mean absolute difference (grey levels, RGB) between each styled frame and the
  previous styled frame warped onto it along the clip's true motion, over the pixels the flow check
  trusts (nst.video.flow.reliability on the content frames); independent over its frames, the
  temporal chain over the same frames;
- warm start: for each later frame, the evaluations until its loss without the temporal term
  (content + style + tv, weighted) first reaches the first frame's final one, against the first
  frame's evaluations; where it never does, how far above it the frame ends;
- time: the whole chain, wall clock, from the run records' seconds;
- drift: the clip's first frame held still for --frames frames (at --drift-size); the mean
  luminance of each styled frame against the first's (largest relative change).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst.run import Observer  # noqa: E402
from nst.settings import TransferSettings  # noqa: E402
from nst.video import flow as flows  # noqa: E402
from nst.video.chain import FrameChain  # noqa: E402
from nst.video.clips import Clip  # noqa: E402
from nst.video.settings import VideoSettings  # noqa: E402
from nst.video.synthetic import synthetic_clip  # noqa: E402

STYLE = str(ROOT / "data/styles/strokes.png")


class Losses(Observer):
    """Every evaluation's losses of one frame."""

    def __init__(self):
        self.seen = []

    def evaluated(self, evaluation):
        self.seen.append(evaluation.losses)


def chain(frames, work, independent=False, later_evaluations=0, **options):
    settings = TransferSettings.from_preset("fast", size=max(frames[0].shape[:2]), seed=0, **options)
    record: dict[int, Losses] = {}

    def observers(k):
        record[k] = Losses()
        return [record[k]]

    started = time.perf_counter()
    result = FrameChain(Clip(frames, Fraction(24), None), [STYLE], settings, work,
                        VideoSettings(independent=independent, frame_evals=later_evaluations)
                        ).run(observers_for=observers)
    return result, record, time.perf_counter() - started


def consistency(styled, contents, truth) -> float:
    values = []
    for k in range(1, len(styled)):
        forward = flows.flow(contents[k - 1], contents[k])
        backward = flows.flow(contents[k], contents[k - 1])
        trusted = flows.reliability(forward, backward) > 0
        warped = flows.warp(styled[k - 1].astype(np.float32), truth[k - 1], sharp=True)
        values.append(np.abs(styled[k].astype(np.float32) - warped)[trusted].mean())
    return float(np.mean(values))


def frame_loss(losses) -> float:
    return losses.total - losses.parts.get("temporal", 0.0)


def warm_start(seen: dict, frames: int) -> tuple[list, list, list]:
    """For each later frame: its loss without the temporal term at its start and end, as a share of
    frame 0's final one (minus 1), and the evaluations after which it first reached it (None: never)."""
    target = frame_loss(seen[0].seen[-1])
    later = range(1, frames)
    start = [frame_loss(seen[k].seen[0]) / target - 1 for k in later]
    end = [frame_loss(seen[k].seen[-1]) / target - 1 for k in later]
    reached = [next((i + 1 for i, v in enumerate(seen[k].seen) if frame_loss(v) <= target), None) for k in later]
    return start, end, reached


def luminance(frame) -> float:
    return float((frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).mean())


def side_by_side(left, right, path, width=256):
    from nst.workflow.gallery import label, save_gif

    def shown(frame, text):
        image = Image.fromarray(frame)
        image = image.resize((width, round(width * image.height / image.width)), Image.Resampling.LANCZOS)
        return label(image, [text])

    pictures = []
    for a, b in zip(left, right):
        sheet = Image.new("RGB", (2 * width, shown(a, "").height))
        sheet.paste(shown(a, "nst video"), (0, 0))
        sheet.paste(shown(b, "each frame on its own"), (width, 0))
        pictures.append(sheet)
    save_gif(pictures, path, 1 / 12, max_side=2 * width, hold_last=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--independent-frames", type=int, default=12)
    parser.add_argument("--size", type=int, nargs=2, default=(512, 288), metavar=("W", "H"))
    parser.add_argument("--gif", default=str(ROOT / "docs/video_side_by_side.gif"))
    parser.add_argument("--skip-drift", action="store_true")
    parser.add_argument("--frame-evals", type=int, default=0, help="each later frame's evaluations (nst video's "
                        "--frame-evals; 0: its default)")
    parser.add_argument("--optimizer", default=None, help="the transfers' optimiser (default: the fast preset's)")
    parser.add_argument("--drift-size", type=int, nargs=2, default=(256, 144), metavar=("W", "H"))
    args = parser.parse_args()
    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    clip = synthetic_clip(photo, frames=args.frames, size=tuple(args.size))
    work = Path(tempfile.mkdtemp(prefix="nst-video-bench-"))
    try:
        options = {"optimizer": args.optimizer} if args.optimizer else {}
        temporal, losses, seconds = chain(clip.frames, work / "temporal", later_evaluations=args.frame_evals, **options)
        evaluations = [row.evaluations for row in temporal.rows]
        precision = "auto"
        print(f"temporal chain: {args.frames} frames {args.size[0]}x{args.size[1]}, --preset fast ({precision}, "
              f"{args.optimizer or TransferSettings.from_preset('fast').optimizer}), "
              f"{sum(evaluations)} evaluations ({evaluations[0]} then {min(evaluations[1:])}-{max(evaluations[1:])} "
              f"a frame), {seconds:.0f} s = {seconds / 60:.1f} min", flush=True)
        target = frame_loss(losses[0].seen[-1])
        _, above, needed = warm_start(losses, args.frames)
        got = [n for n in needed if n is not None]
        print(f"warm start: frame 0 ends at loss {target:.4g} after {evaluations[0]} evaluations; "
              f"{len(got)} of {len(needed)} later frames reach it"
              + (f", after {np.median(got):.0f} evaluations (median; max {max(got)}) = "
                 f"{np.median(got) / evaluations[0]:.0%} of frame 0's" if got else "")
              + f"; later frames end {np.median(above):+.1%} (median; {min(above):+.1%} to {max(above):+.1%}) "
                f"from it", flush=True)
        n = args.independent_frames
        independent, _, seconds_apart = chain(clip.frames[:n], work / "independent", independent=True, **options)
        ours = consistency(temporal.frames[:n], clip.frames[:n], clip.backward[: n - 1])
        apart = consistency(independent.frames, clip.frames[:n], clip.backward[: n - 1])
        print(f"consistency over frames 0-{n - 1}: nst video {ours:.2f} grey levels, each frame on its own "
              f"{apart:.2f} ({seconds_apart:.0f} s): {ours / apart:.0%} of it", flush=True)
        side_by_side(temporal.frames[:n], independent.frames, args.gif)
        print(f"wrote {args.gif}")
        if not args.skip_drift:
            still = [np.asarray(Image.fromarray(clip.frames[0]).resize(tuple(args.drift_size), Image.Resampling.LANCZOS))
                     ] * args.frames
            static, _, _ = chain(still, work / "static", later_evaluations=args.frame_evals, **options)
            levels = [luminance(f) for f in static.frames]
            change = max(abs(v - levels[0]) for v in levels) / levels[0]
            print(f"drift: the first frame at {args.drift_size[0]}x{args.drift_size[1]} held still for {args.frames} "
                  f"frames, mean luminance {levels[0]:.1f} first, "
                  f"{levels[-1]:.1f} last; largest change {change:.2%}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
