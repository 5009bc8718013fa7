"""Generate the project's own style images: procedural brush strokes and a tile mosaic.

    python data/generate_styles.py        # rewrites data/styles/*.png (deterministic)

They exist so the default configuration has style images the project may ship without
anyone's copyright: every pixel comes from this script and a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 512
OUT = Path(__file__).resolve().parent / "styles"

# Night-sky blues and yellows for the strokes; warm terracotta and teal for the mosaic.
STROKE_PALETTE = [(20, 40, 90), (35, 70, 140), (60, 110, 180), (230, 200, 60), (245, 230, 140), (15, 25, 50), (90, 150, 200)]
MOSAIC_PALETTE = [(190, 80, 50), (220, 150, 70), (40, 120, 130), (235, 220, 190), (120, 50, 40), (60, 160, 150)]


def flow_angle(x: float, y: float) -> float:
    """A swirling vector field: the direction a brush follows at (x, y)."""
    u, v = x / SIZE * 2 * np.pi, y / SIZE * 2 * np.pi
    return np.sin(u * 1.3 + np.cos(v * 0.9)) * 2.2 + np.cos(v * 1.7 - u * 0.4) * 1.4


def brush_strokes(seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (SIZE, SIZE), STROKE_PALETTE[0])
    draw = ImageDraw.Draw(image)
    for _ in range(5000):
        x, y = rng.uniform(0, SIZE, 2)
        base = np.array(STROKE_PALETTE[rng.integers(len(STROKE_PALETTE))], dtype=float)
        color = tuple(int(c) for c in np.clip(base + rng.normal(0, 12, 3), 0, 255))
        width = int(rng.integers(3, 8))
        points = [(x, y)]
        for _ in range(int(rng.integers(6, 16))):
            angle = flow_angle(x, y)
            x, y = x + 4 * np.cos(angle), y + 4 * np.sin(angle)
            points.append((x, y))
        draw.line(points, fill=color, width=width, joint="curve")
    return image.filter(ImageFilter.SMOOTH)


def mosaic(seed: int = 2, tiles: int = 420) -> Image.Image:
    """Voronoi tiles in a warm palette with dark grout between them."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, SIZE, (tiles, 2))
    colours = np.array([MOSAIC_PALETTE[i] for i in rng.integers(len(MOSAIC_PALETTE), size=tiles)], dtype=float)
    colours = np.clip(colours + rng.normal(0, 14, colours.shape), 0, 255)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    pixels = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    nearest = np.empty(len(pixels), dtype=np.int64)
    second = np.empty(len(pixels), dtype=np.float32)
    first = np.empty(len(pixels), dtype=np.float32)
    for start in range(0, len(pixels), 16384):  # chunks keep the distance matrix small
        d = np.linalg.norm(pixels[start : start + 16384, None, :] - centres[None].astype(np.float32), axis=2)
        order = np.argpartition(d, 1, axis=1)[:, :2]
        rows = np.arange(len(d))
        a, b = d[rows, order[:, 0]], d[rows, order[:, 1]]
        swap = a > b
        order[swap] = order[swap][:, ::-1]
        nearest[start : start + 16384] = order[:, 0]
        first[start : start + 16384] = np.minimum(a, b)
        second[start : start + 16384] = np.maximum(a, b)
    rgb = colours[nearest]
    grout = (second - first) < 2.5
    rgb[grout] = (45, 35, 30)
    shade = 1.0 - 0.12 * (first / (first.max() + 1e-6))  # tiles a little darker at their edges
    rgb = np.clip(rgb * shade[:, None], 0, 255).astype(np.uint8).reshape(SIZE, SIZE, 3)
    return Image.fromarray(rgb, "RGB")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    brush_strokes().save(OUT / "strokes.png", optimize=True)
    mosaic().save(OUT / "mosaic.png", optimize=True)


if __name__ == "__main__":
    main()
