"""The colour modes side by side on the project's own images, and how near each result's colours
come to the photo's: writes docs/colour_modes.png (the README's picture) and prints the figures.

    python benchmarks/colour_modes.py [--size 256] [--out docs/colour_modes.png]

Each run: `--preset fast`, seed 0, the same content and style; only `color_transfer` differs.
The distance is between the result's and the photo's pixel statistics, ||mean|| + ||cov||^0.5
in grey levels (nst.colour.pixel_statistics), 0 for the photo's own colours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst import colour  # noqa: E402
from nst.settings import TransferSettings  # noqa: E402
from nst.transfer import stylize  # noqa: E402
from nst.workflow.gallery import grid, save_image  # noqa: E402

MODES = ("none", "histogram", "cholesky", "result")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--content", default=str(ROOT / "data/content/chelsea.png"))
    parser.add_argument("--style", default=str(ROOT / "data/styles/strokes.png"))
    parser.add_argument("--out", default=str(ROOT / "docs/colour_modes.png"))
    args = parser.parse_args()
    with Image.open(args.content) as opened:
        photo = opened.convert("RGB")
    with Image.open(args.style) as opened:
        style = opened.convert("RGB")
    reference = np.asarray(photo, np.float64)
    mean_c, cov_c = colour.pixel_statistics(reference)
    cells = [(photo, ["content"]), (style, ["style"])]
    for mode in MODES:
        settings = TransferSettings.from_preset("fast", size=args.size, seed=0, color_transfer=mode)
        result = stylize(args.content, [args.style], settings, progress=False)
        image = Image.fromarray(result.image[..., :3])
        wide = np.asarray(image.resize(photo.size, Image.Resampling.LANCZOS), np.float64)
        mean, cov = colour.pixel_statistics(wide)
        distance = float(np.linalg.norm(mean - mean_c) + np.linalg.norm(cov - cov_c) ** 0.5)
        print(f"{mode:10s} colour distance from the photo {distance:6.1f}   {result.record.precision}, "
              f"{result.record.evaluations} evaluations, {result.record.seconds['total']:.1f} s", flush=True)
        cells.append((image, [f"--color-transfer {mode}"]))
    save_image(grid([cells[:3], cells[3:]], args.size), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
