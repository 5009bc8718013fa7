"""Generate the project's example style masks for data/content/chelsea.png.

    python data/generate_masks.py        # rewrites data/masks/*.png (deterministic)

`chelsea_face.png` is white over an ellipse around the cat's face, `chelsea_surround.png`
white outside a slightly larger one: two regions for two styles with a thin band between
them, which no mask covers and so keeps the photo. Edges are feathered (a 4 px Gaussian),
as a mask painted with a soft brush would be.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
CONTENT = HERE / "content" / "chelsea.png"
OUT = HERE / "masks"
CENTRE, RADII, GAP = (220, 160), (165, 135), 30  # pixels of the 451 x 300 photo


def ellipse(size: tuple[int, int], grow: int) -> Image.Image:
    image = Image.new("L", size, 0)
    (cx, cy), (rx, ry) = CENTRE, RADII
    ImageDraw.Draw(image).ellipse((cx - rx - grow, cy - ry - grow, cx + rx + grow, cy + ry + grow), fill=255)
    return image.filter(ImageFilter.GaussianBlur(4))


def main() -> None:
    with Image.open(CONTENT) as photo:
        size = photo.size
    OUT.mkdir(exist_ok=True)
    ellipse(size, 0).save(OUT / "chelsea_face.png", optimize=True)
    ImageChops.invert(ellipse(size, GAP)).save(OUT / "chelsea_surround.png", optimize=True)


if __name__ == "__main__":
    main()
