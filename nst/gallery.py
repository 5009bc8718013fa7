"""Galleries: labelled comparison grids and GIF animations of runs.

A grid is exactly `columns x cell` by `rows x cell` pixels: each result is fitted into its
square cell (letterboxed, aspect ratio kept) and labelled inside the cell, so a grid's size
follows from its shape alone and grids of one sweep line up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .files import atomic_path

BACKGROUND = (24, 24, 24)
LABEL_BACKGROUND = (0, 0, 0, 160)
LABEL_TEXT = (255, 255, 255, 255)


def _font(cell: int) -> ImageFont.ImageFont:
    size = max(9, cell // 18)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def fit_into(image: Image.Image, cell: int) -> Image.Image:
    """The image scaled to fit a cell x cell square, centred on the background colour."""
    canvas = Image.new("RGB", (cell, cell), BACKGROUND)
    scale = cell / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    fitted = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    canvas.paste(fitted, ((cell - size[0]) // 2, (cell - size[1]) // 2))
    return canvas


def label(image: Image.Image, lines: list[str]) -> Image.Image:
    """Write `lines` on a translucent band along the bottom of the image."""
    if not lines:
        return image
    font = _font(image.width)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    line_height = int(font.getbbox("Ag")[3] + 4)
    band = line_height * len(lines) + 4
    draw.rectangle((0, image.height - band, image.width, image.height), fill=LABEL_BACKGROUND)
    for i, text in enumerate(lines):
        draw.text((4, image.height - band + 2 + i * line_height), text, font=font, fill=LABEL_TEXT)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def placeholder(cell: int, text: str) -> Image.Image:
    return label(Image.new("RGB", (cell, cell), BACKGROUND), [text])


def grid(cells: list[list[tuple[Image.Image | None, list[str]]]], cell: int) -> Image.Image:
    """Rows of (image or None, label lines) -> one labelled image of rows x columns cells."""
    rows, columns = len(cells), max(len(row) for row in cells)
    sheet = Image.new("RGB", (columns * cell, rows * cell), BACKGROUND)
    for r, row in enumerate(cells):
        for c, (image, lines) in enumerate(row):
            tile = label(fit_into(image, cell), lines) if image is not None else placeholder(cell, "not run")
            sheet.paste(tile, (c * cell, r * cell))
    return sheet


def save_image(image: Image.Image, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def save_gif(frames: list[Image.Image], path: str | Path, seconds_per_frame: float, captions: list[list[str]] | None = None,
             hold_last: int = 3) -> None:
    """An endlessly looping GIF; frames are brought to the last frame's size and labelled.

    The last frame is shown `hold_last` times as long, so the result can be seen.
    """
    import imageio.v3 as iio

    if not frames:
        raise ValueError("a GIF needs at least one frame")
    size = frames[-1].size
    captions = captions or [[] for _ in frames]
    pictures = [np.asarray(label(f.convert("RGB").resize(size, Image.Resampling.LANCZOS), c)) for f, c in zip(frames, captions)]
    durations = [seconds_per_frame * 1000] * len(pictures)
    durations[-1] *= hold_last
    # Pillow takes one duration per frame, but a bare number for a single frame
    duration = durations if len(durations) > 1 else durations[0]
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, np.stack(pictures), extension=".gif", duration=duration, loop=0)
