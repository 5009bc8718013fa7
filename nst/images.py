"""Images in and out: decode safely, orient, convert to RGB, resize, VGG pre/de-processing.

Every way an input file can be unusable ends in one `ImageError` naming the file, so
a corrupt download in a sweep of hundreds of images says which one and why.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .files import atomic_path

# ImageNet channel means in BGR order, as the Caffe VGG weights expect.
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # Pillow's decompression-bomb limit (~89 Mpx)
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite a transparent image on white, as a viewer shows it."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _to_rgb(image: Image.Image, path: Path) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in SIXTEEN_BIT_MODES:
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) > 255 or mode != "I" else 255.0
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        return _flatten_alpha(image)
    if mode in ("L", "1", "P", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        return image.convert("RGB")
    raise ImageError(f"{path}: unsupported image mode {mode}; save it as 8-bit RGB (PNG or JPEG)")


def load_rgb(path: str | Path) -> Image.Image:
    """Decode an image file into an upright 8-bit RGB image, or raise `ImageError`."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a directory, not an image")
    try:
        with warnings.catch_warnings():
            # Between 1x and 2x the limit Pillow only warns; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.load()
                image = ImageOps.exif_transpose(opened)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{path}: has more than {MAX_PIXELS:,} pixels (a possible decompression bomb); "
            "downscale it before use"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can read (corrupt, or not an image file)") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{path}: cannot be decoded ({exc}); the file is truncated or corrupt") from None
    return _to_rgb(image, path)


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is `longest`, keeping the aspect ratio."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos resampling (with Pillow's reducing_gap for big downscales) to (width, height)."""
    if image.size == tuple(size):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def to_array(image: Image.Image) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 255]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """RGB [0, 255] (H, W, 3) -> BGR minus the ImageNet mean, with a batch axis: (1, H, W, 3)."""
    bgr = np.asarray(rgb, dtype=np.float32)[..., ::-1] - IMAGENET_BGR_MEAN
    return bgr[np.newaxis].copy()


def deprocess(x: np.ndarray) -> np.ndarray:
    """The inverse of `preprocess`, clipped and rounded to (H, W, 3) uint8 RGB."""
    x = np.asarray(x, dtype=np.float32).reshape(x.shape[-3:])
    rgb = (x + IMAGENET_BGR_MEAN)[..., ::-1]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def save_png(rgb: np.ndarray, path: str | Path) -> None:
    """Write uint8 RGB atomically, so an interrupted run leaves no half image."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(rgb, dtype=np.uint8), "RGB").save(tmp, format=_format_for(path))


def _format_for(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}.get(
        suffix, "PNG"
    )
