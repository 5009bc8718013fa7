"""How nst video's defaults were chosen: the warp's interpolation, what later frames start from, and
the temporal weight, on the project's clip at a small size (so every variant runs in minutes).

    python benchmarks/video_settings.py [--frames 8] [--size 256 144]

1. Warp: the first frame styled (`--preset fast`, seed 0), warped onto the second along the flow
   bilinearly, bicubically and with Lanczos; each warped image's losses (float32, `nst loss`'s
   function) against the second frame's objective, beside the unwarped styled frame's.
2. Chains of --frames frames, strokes, `--preset fast`, nst video's budget for later frames: for each
   (temporal weight, fill) the consistency (benchmarks/video.py's measure) as a share of frames
   styled independently, and each later frame's loss without the temporal term against the first
   frame's final one: where it starts, where it ends, after how many evaluations it reaches it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from video import STYLE, Losses, consistency, warm_start  # noqa: E402

from nst.evaluate import image_losses  # noqa: E402
from nst.settings import TransferSettings  # noqa: E402
from nst.video import flow as flows  # noqa: E402
from nst.video.chain import FrameChain  # noqa: E402
from nst.video.clips import Clip  # noqa: E402
from nst.video.settings import VideoSettings  # noqa: E402
from nst.video.synthetic import synthetic_clip  # noqa: E402

VARIANTS = [(200, "warped"), (50, "warped"), (200, "content"), (1000, "warped")]


def run(frames, work, size, temporal=50.0, fill="warped", independent=False):
    settings = TransferSettings.from_preset("fast", size=size, seed=0, terms={"temporal": temporal})
    seen = {}

    def observers(k):
        seen[k] = Losses()
        return [seen[k]]

    video = VideoSettings(independent=independent, fill=fill)
    result = FrameChain(Clip(frames, Fraction(24), None), [STYLE], settings, work, video).run(observers_for=observers)
    return result, seen


def warps(work: Path, result, contents, size) -> None:
    import cv2

    styled = result.frames[0].astype(np.float32)
    backward = flows.flow(contents[1], contents[0])
    h, w = backward.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    paths = {}
    for name, interpolation in (("bilinear", cv2.INTER_LINEAR), ("bicubic", cv2.INTER_CUBIC),
                                ("Lanczos", cv2.INTER_LANCZOS4)):
        warped = cv2.remap(styled, xs + backward[..., 0], ys + backward[..., 1], interpolation=interpolation,
                           borderMode=cv2.BORDER_REPLICATE)
        paths[name] = work / f"{name}.png"
        Image.fromarray(np.rint(np.clip(warped, 0, 255)).astype(np.uint8)).save(paths[name])
    paths["not warped"] = work / "unwarped.png"
    Image.fromarray(result.frames[0]).save(paths["not warped"])
    content = work / "content1.png"
    Image.fromarray(contents[1]).save(content)
    rows = image_losses(content, [STYLE], list(paths.values()), TransferSettings(size=size))
    plain = rows[-1]["style"]
    for name, row in zip(paths, rows):
        print(f"warp {name:10s}: loss {row['total']:.3g}, style {row['style']:.3g} ({row['style'] / plain:.1f}x the "
              f"unwarped frame's)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 144), metavar=("W", "H"))
    args = parser.parse_args()
    photo = np.asarray(Image.open(ROOT / "data/content/coffee.png").convert("RGB"))
    clip = synthetic_clip(photo, frames=args.frames, size=tuple(args.size))
    size = max(args.size)
    work = Path(tempfile.mkdtemp(prefix="nst-video-settings-"))
    try:
        apart, _ = run(clip.frames, work / "independent", size, independent=True)
        warps(work, apart, clip.frames, size)
        independent = consistency(apart.frames, clip.frames, clip.backward)
        print(f"each frame on its own: consistency {independent:.2f} grey levels", flush=True)
        for temporal, fill in VARIANTS:
            result, seen = run(clip.frames, work / f"{temporal}_{fill}", size, temporal, fill)
            starts, ends, reached = warm_start(seen, args.frames)
            start, end = np.median(starts), np.median(ends)
            ours = consistency(result.frames, clip.frames, clip.backward)
            print(f"temporal {temporal:5g}, fill {fill:7s}: consistency {ours:.2f} ({ours / independent:.0%} of "
                  f"independent); later frames start {start:+.1%}, end {end:+.1%} from frame 0's loss; reach it "
                  f"after {reached} evaluations (of frame 0's {len(seen[0].seen)})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
