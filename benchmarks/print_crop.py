"""The README's print-size crop: one region of a print run at full size, stage by stage.

    python benchmarks/print_crop.py FRAMES_DIR OUT.jpg [--centre 0.5 0.4] [--side 512]

FRAMES_DIR is a run's `--frames` folder (one image per iteration, each at its stage's size). Each
stage's last frame is enlarged to the final size (Lanczos) and the same `side` px square cut from it,
so the panels compare what each stage adds at the print's own scale: left to right, the first
stage, the second-to-last, the result.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from PIL import Image

GAP = 8


def last_frame_of_each_size(folder: Path) -> list[Path]:
    frames = sorted(folder.glob("*_i_*.png"), key=lambda p: int(re.search(r"_i_(\d+)\.png$", p.name).group(1)))
    by_size: dict[int, Path] = {}
    for frame in frames:
        with Image.open(frame) as image:
            by_size[max(image.size)] = frame  # later iterations of a size replace earlier ones
    return [by_size[size] for size in sorted(by_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--centre", type=float, nargs=2, default=(0.5, 0.4), help="the crop's centre, fractions")
    parser.add_argument("--side", type=int, default=512)
    args = parser.parse_args()
    stages = last_frame_of_each_size(args.frames)
    chosen = [stages[0], stages[-2], stages[-1]] if len(stages) >= 3 else stages
    final = Image.open(chosen[-1]).convert("RGB")
    w, h = final.size
    left = min(max(0, int(args.centre[0] * w - args.side / 2)), w - args.side)
    top = min(max(0, int(args.centre[1] * h - args.side / 2)), h - args.side)
    box = (left, top, left + args.side, top + args.side)
    panels = [Image.open(p).convert("RGB").resize((w, h), Image.LANCZOS).crop(box) for p in chosen]
    sheet = Image.new("RGB", (len(panels) * args.side + (len(panels) - 1) * GAP, args.side), "white")
    for i, panel in enumerate(panels):
        sheet.paste(panel, (i * (args.side + GAP), 0))
    sheet.save(args.out, quality=90)
    print(f"{args.out}: {', '.join(p.name for p in chosen)}; box {box} of {w}x{h}")


if __name__ == "__main__":
    main()
