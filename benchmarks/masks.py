"""Style masks on the project's own images: the README's picture, the two-region figures, and what
masks cost at print size.

    python benchmarks/masks.py [--size 256] [--out docs/masks.png]    # picture and region figures
    python benchmarks/masks.py --print-cost [--print-size 2048]        # masked / unmasked seconds

Picture: chelsea with data/masks/ (python data/generate_masks.py), `--preset fast`, seed 0: the
photo with its masks, strokes over everything, strokes on the face and mosaic around it (a thin
band between them no mask covers keeps the photo), and strokes on the face alone. Figures for
the two-region run, judged on the saved PNG in float32: each region's style loss against its own
style and against the other's (both with the region's guided Gram), and how far the band the
masks leave out moved from the photo (mean absolute grey levels).

Print cost: one loss-and-gradient evaluation at --print-size in the tile nst plans within
--limit-mb, unmasked (strokes) and masked (strokes on the face, mosaic around it), alternated,
the median of --repeats each after one untimed evaluation that traces the graph.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst import images  # noqa: E402
from nst.engine import engine_for  # noqa: E402
from nst.evaluate import region_style_losses  # noqa: E402
from nst.estimate import plan_stage  # noqa: E402
from nst.inputs import Inputs  # noqa: E402
from nst.settings import TransferSettings  # noqa: E402
from nst.transfer import stylize  # noqa: E402
from nst.workflow.gallery import grid, save_image  # noqa: E402

CONTENT = str(ROOT / "data/content/chelsea.png")
STROKES, MOSAIC = str(ROOT / "data/styles/strokes.png"), str(ROOT / "data/styles/mosaic.png")
FACE, SURROUND = str(ROOT / "data/masks/chelsea_face.png"), str(ROOT / "data/masks/chelsea_surround.png")


def picture(size: int, out: str) -> None:
    with Image.open(CONTENT) as opened:
        photo = opened.convert("RGB")
    face, surround = (Image.open(p).convert("L") for p in (FACE, SURROUND))
    outline = Image.merge("RGB", (face, ImageChops.constant(face, 0), surround))
    shown = Image.blend(photo, outline, 0.35)
    cells = [(shown, ["photo; masks: face (red),", "surround (blue)"])]
    runs = [([STROKES], [], ["strokes, no mask"]),
            ([STROKES, MOSAIC], [FACE, SURROUND], ["face: strokes,", "surround: mosaic"]),
            ([STROKES], [FACE], ["face: strokes,", "the rest: the photo"])]
    for styles, masks, label in runs:
        settings = TransferSettings.from_preset("fast", size=size, seed=0, style_masks=masks)
        result = stylize(CONTENT, styles, settings, progress=False)
        image = Image.fromarray(result.image[..., :3])
        cells.append((image, label))
        print(f"{' + '.join(Path(s).stem for s in styles):16s} masks {len(masks)}: {result.record.precision}, "
              f"{result.record.evaluations} evaluations, {result.record.seconds['total']:.1f} s", flush=True)
        if len(masks) == 2:
            own, other = region_style_losses(CONTENT, styles, np.asarray(image), settings)
            for name, a, b in zip(("face", "surround"), own, other):
                print(f"  {name:8s} style loss against its own style {a:.3g}, against the other {b:.3g}: "
                      f"{a / b:.4f} of it", flush=True)
            saved = np.asarray(image.convert("L"), np.float64)
            photo_grey = np.asarray(images.resize(photo, image.size).convert("L"), np.float64)
            scaled = [np.asarray(m.resize(image.size, Image.Resampling.BILINEAR)) for m in (face, surround)]
            band = (scaled[0] == 0) & (scaled[1] == 0)
            print(f"  band no mask covers ({band.mean():.1%} of the pixels): mean absolute change from the photo "
                  f"{np.abs(saved - photo_grey)[band].mean():.2f} grey levels", flush=True)
    save_image(grid([cells[:2], cells[2:]], size), out)
    print(f"wrote {out}")


def print_cost(size: int, limit_mb: int, repeats: int) -> None:
    variants = {"unmasked": ([STROKES], []), "masked": ([STROKES, MOSAIC], [FACE, SURROUND])}
    prepared = {}
    for name, (styles, masks) in variants.items():
        probe = TransferSettings(size=size, style_masks=masks)
        inputs = Inputs.load(CONTENT, styles, probe)
        engine = engine_for(probe)
        tile = plan_stage(probe, engine.backbone, *inputs.shape_at(size), limit_mb * 2**20).tile
        settings = TransferSettings(size=size, style_masks=masks, tile=tile)
        objective = engine.objective_for(tile)
        stage = inputs.stage(settings, size)
        targets = stage.targets(objective, settings)
        x = stage.initial_image(settings, np.random.default_rng(0), None)
        objective.value_and_grad(x, targets)  # traces
        prepared[name] = (objective, targets, x, tile, engine.precision, stage.shape)
    seconds = {name: [] for name in prepared}
    for _ in range(repeats):
        for name, (objective, targets, x, *_) in prepared.items():
            start = time.perf_counter()
            objective.value_and_grad(x, targets)
            seconds[name].append(time.perf_counter() - start)
    for name, (_, _, _, tile, precision, (h, w)) in prepared.items():
        print(f"{name:9s} {w}x{h} in {tile or 'no'} px tiles, {precision}: "
              f"{statistics.median(seconds[name]):.2f} s per evaluation ({seconds[name]})", flush=True)
    ratio = statistics.median(seconds["masked"]) / statistics.median(seconds["unmasked"])
    print(f"masked / unmasked: {ratio:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default=str(ROOT / "docs/masks.png"))
    parser.add_argument("--print-cost", action="store_true")
    parser.add_argument("--print-size", type=int, default=2048)
    parser.add_argument("--limit-mb", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.print_cost:
        print_cost(args.print_size, args.limit_mb, args.repeats)
    else:
        picture(args.size, args.out)


if __name__ == "__main__":
    main()
