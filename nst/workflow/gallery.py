"""Galleries: labelled comparison grids, a picture per content image, and GIF animations.

A grid is exactly `columns x cell` by `rows x cell` pixels: each image is fitted into its
square cell (letterboxed, aspect ratio kept) and labelled inside the cell, so a grid's size
follows from its shape alone and grids of one sweep line up. Transparent images are shown
over a checkerboard, as image editors show them.
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


def checkerboard(size: tuple[int, int], square: int = 8) -> Image.Image:
    """Light and mid grey squares: what shows through where an image is transparent."""
    width, height = size
    tiles = Image.new("L", (2, 2))
    tiles.putdata([204, 153, 153, 204])
    board = tiles.resize((2 * square, 2 * square), Image.Resampling.NEAREST)
    out = Image.new("L", size)
    for y in range(0, height, 2 * square):
        for x in range(0, width, 2 * square):
            out.paste(board, (x, y))
    return out.convert("RGB")


def opaque(image: Image.Image) -> Image.Image:
    """RGB for display: a transparent image over a checkerboard."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(checkerboard(rgba.size).convert("RGBA"), rgba).convert("RGB")
    return image.convert("RGB")


def fit_into(image: Image.Image, cell: int) -> Image.Image:
    """The image scaled to fit a cell x cell square, centred on the background colour."""
    return ImageOps.pad(opaque(image), (cell, cell), Image.Resampling.LANCZOS, color=BACKGROUND)


def with_inset(image: Image.Image, inset: Image.Image, cell: int, share: float = 0.3) -> Image.Image:
    """A cell showing `image` with `inset` (a style image) as a framed thumbnail in its top-right corner."""
    tile = fit_into(image, cell)
    side = max(8, round(cell * share))
    thumb = opaque(inset)
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    framed = ImageOps.expand(thumb, border=2, fill=(255, 255, 255))
    tile.paste(framed, (cell - framed.width - 4, 4))
    return tile


def fitted(lines: list[str], font, width: float) -> list[str]:
    """`lines` broken where they would overrun `width` pixels: between words, so a run's label
    (`cw 0.025 · sw 5 · tvw 1 · mask face_and_surround`) wraps whole rather than being cut."""
    out = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and font.getlength(candidate) > width:
                out.append(current)
                current = word
            else:
                current = candidate
        out.append(current)
    return out


def label(image: Image.Image, lines: list[str]) -> Image.Image:
    """Write `lines` on a translucent band along the bottom of the image, wrapped to its width."""
    if not lines:
        return image
    font = _font(image.width)
    lines = fitted(lines, font, image.width - 8)
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


Cell = tuple  # (image or None, label lines[, inset image])


def grid(cells: list[list[Cell]], cell: int, empty: str = "not run") -> Image.Image:
    """Rows of (image or None, label lines[, inset]) -> one labelled image of rows x columns cells."""
    rows, columns = len(cells), max(len(row) for row in cells)
    sheet = Image.new("RGB", (columns * cell, rows * cell), BACKGROUND)
    for r, row in enumerate(cells):
        for c, (image, lines, *inset) in enumerate(row):
            if image is None:
                tile = placeholder(cell, empty) if empty or lines else Image.new("RGB", (cell, cell), BACKGROUND)
                tile = label(tile, lines) if lines else tile
            else:
                tile = label(with_inset(image, inset[0], cell) if inset and inset[0] is not None else fit_into(image, cell),
                             lines)
            sheet.paste(tile, (c * cell, r * cell))
    return sheet


def wrap(cells: list[Cell], columns: int | None = None) -> list[list[Cell]]:
    """A list of cells as rows of a near-square grid (the last row may be shorter)."""
    columns = columns or max(1, min(len(cells), round(len(cells) ** 0.5 + 0.49)))
    return [cells[i:i + columns] for i in range(0, len(cells), columns)]


def content_gallery(content: tuple[Image.Image, str], results: list[Cell], cell: int) -> Image.Image:
    """One picture per content image: the photo first, then each result with its style as an inset."""
    photo, name = content
    return grid(wrap([(photo, [f"content: {name}"]), *results]), cell, empty="")


def matrix(rows: list[tuple[Image.Image, str]], columns: list[tuple[Image.Image, str]],
           found: dict[tuple[int, int], Cell], cell: int, corner: list[str]) -> Image.Image:
    """Contents (left) x styles (top) with the inputs as headers; sparse tables become a list instead.

    A table with no more results than half its cells would be mostly empty, so then the
    results are laid out one after another, each with its style as an inset.
    """
    if len(found) * 2 <= len(rows) * len(columns):
        return grid(wrap([found[key] for key in sorted(found)]), cell, empty="")
    header = [(None, corner), *[(image, [f"style: {name}"]) for image, name in columns]]
    body = [
        [(image, [f"content: {name}"]), *[found.get((r, c), (None, [])) for c in range(len(columns))]]
        for r, (image, name) in enumerate(rows)
    ]
    return grid([header, *body], cell)


def save_image(image: Image.Image, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def save_gif(frames: list[Image.Image], path: str | Path, seconds_per_frame: float, captions: list[list[str]] | None = None,
             max_side: int = 512, hold_last: int = 3) -> None:
    """An endlessly looping GIF; frames are brought to the last frame's size, no longer than
    `max_side` (a print-size run's frames would make a GIF of hundreds of MB), and labelled.

    The last frame is shown `hold_last` times as long, so the result can be seen.
    """
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    width, height = frames[-1].size
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    captions = captions or [[] for _ in frames]
    pictures = [label(opaque(f).resize(size, Image.Resampling.LANCZOS), c) for f, c in zip(frames, captions)]
    durations = [round(seconds_per_frame * 1000)] * len(pictures)
    durations[-1] *= hold_last
    with atomic_path(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
