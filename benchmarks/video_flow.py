"""Optical flow and reliability on the project's clip (nst/video/synthetic.py), and their cost.

    python benchmarks/video_flow.py [--frames 48] [--repeats 5]

Prints, over every frame pair of the clip (512 x 288): the end-point error of DIS flow against
the true motion (background away from the moving disc, and inside the disc), the share of the
background the reliability weights keep and of the pixels the disc uncovered they drop; then the
seconds for both flows and the weights of one 960 x 540 pair (best of --repeats).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst.device import describe_device  # noqa: E402
from nst.video import flow  # noqa: E402
from nst.video.synthetic import synthetic_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    clip = synthetic_clip(photo, frames=args.frames)
    rows = []
    for k in range(1, args.frames):
        near = ndimage.binary_dilation(clip.disc[k] | clip.disc[k - 1], iterations=6)
        inside = clip.disc[k] & ~ndimage.binary_dilation(~clip.disc[k], iterations=4)
        uncovered = clip.disc[k - 1] & ~clip.disc[k]
        backward = flow.flow(clip.frames[k], clip.frames[k - 1])
        weights = flow.reliability(flow.flow(clip.frames[k - 1], clip.frames[k]), backward)
        rows.append((flow.end_point_error(backward, clip.backward[k - 1], ~near),
                     flow.end_point_error(backward, clip.backward[k - 1], inside) if inside.any() else np.nan,
                     weights[~near].mean(), 1 - weights[uncovered].mean() if uncovered.any() else np.nan))
    epe_bg, epe_disc, kept, dropped = (np.nanmean(c) for c in zip(*rows))
    print(f"machine: {describe_device()}")
    print(f"clip: {args.frames} frames of 512x288, {len(rows)} pairs")
    print(f"end-point error: {epe_bg:.3f} px background, {epe_disc:.3f} px inside the disc (mean over pairs)")
    print(f"reliability: keeps {kept:.1%} of the background, drops {dropped:.1%} of the pixels the disc uncovered")
    big = [np.asarray(Image.fromarray(f).resize((960, 540), Image.Resampling.LANCZOS)) for f in clip.frames[:2]]
    best = np.inf
    for _ in range(args.repeats):
        started = time.perf_counter()
        flow.reliability(flow.flow(big[0], big[1]), flow.flow(big[1], big[0]))
        best = min(best, time.perf_counter() - started)
    print(f"960x540 pair, both flows and the weights: {best:.3f} s (best of {args.repeats})")


if __name__ == "__main__":
    main()
