"""Galleries: labelled comparison grids and GIF animations of runs.

A grid is exactly `columns x cell` by `rows x cell` pixels: each result is fitted into its
square cell (letterboxed, aspect ratio kept) and labelled inside the cell, so a grid's size
follows from its shape alone and grids of one sweep line up.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from ..files import atomic_path

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
    return ImageOps.pad(image.convert("RGB"), (cell, cell), Image.Resampling.LANCZOS, color=BACKGROUND)


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
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    size = frames[-1].size
    captions = captions or [[] for _ in frames]
    pictures = [label(f.convert("RGB").resize(size, Image.Resampling.LANCZOS), c) for f, c in zip(frames, captions)]
    durations = [round(seconds_per_frame * 1000)] * len(pictures)
    durations[-1] *= hold_last
    with atomic_path(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
