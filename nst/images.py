"""Images in and out: decode safely, orient, convert to RGB, resize, VGG pre/de-processing.

Every image a user gives (content, styles, init, and the alpha a content carries) is read by
one loader, `load`, so every format it accepts works in every role, and every way a file can
be unusable ends in the same one `ImageError` naming the file: a corrupt download in a sweep
of hundreds of images says which one and why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .files import atomic_path

# ImageNet channel means in BGR order, as the Caffe VGG weights expect.
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)
# The preprocessed values of pixels 0 and 255 in each channel: an image inside saves unclipped.
PIXEL_BOUNDS = (-IMAGENET_BGR_MEAN.astype(np.float64), 255.0 - IMAGENET_BGR_MEAN.astype(np.float64))
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # Pillow's decompression-bomb limit (~89 Mpx)
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite a transparent image on white, as a viewer shows it."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _from_float(values: np.ndarray, path: Path, notices: list[str] | None) -> Image.Image:
    """32-bit float pixels (grey, RGB or RGBA), read as 0..1: scaled to 8 bits (RGB, or RGBA where
    there is alpha); values outside are clipped, with a notice."""
    values = np.asarray(values, np.float64)
    if values.ndim == 3 and values.shape[-1] == 4:
        colour = _from_float(values[..., :3], path, notices)
        alpha = np.rint(np.clip(np.nan_to_num(values[..., 3]), 0, 1) * 255).astype(np.uint8)
        colour.putalpha(Image.fromarray(alpha, "L"))
        return colour
    finite = np.isfinite(values)
    outside = ~finite | (values < 0) | (values > 1)
    if outside.any() and notices is not None:
        notices.append(
            f"{path}: 32-bit float pixels are read as 0..1; {100 * outside.mean():.1f} % of the values lie outside "
            "(or are not numbers) and were clipped"
        )
    eight = np.rint(np.clip(np.where(finite, values, 0), 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(eight if eight.ndim == 2 else np.ascontiguousarray(eight[..., :3]))
    return image.convert("RGB")


def _read_tiff_pillow_cannot(path: Path, notices: list[str] | None) -> Image.Image:
    """Float or multi-sample TIFFs Pillow does not decode (RGB 32-bit float), through tifffile."""
    import tifffile

    try:
        values = tifffile.imread(path)
    except (ValueError, OSError, KeyError, IndexError) as exc:
        raise ImageError(f"{path}: not a TIFF this program can read ({exc})") from None
    if values.ndim == 3 and values.shape[0] in (3, 4) and values.shape[-1] not in (3, 4):
        values = np.moveaxis(values, 0, -1)  # planar (samples first)
    if values.ndim not in (2, 3) or (values.ndim == 3 and values.shape[-1] not in (1, 3, 4)):
        raise ImageError(f"{path}: a TIFF of shape {values.shape} is not a grey or RGB image")
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if np.issubdtype(values.dtype, np.floating):
        return _from_float(values, path, notices)
    top = float(np.iinfo(values.dtype).max)
    return _from_float(values.astype(np.float64) / top, path, None)


def _to_rgb(image: Image.Image, path: Path, notices: list[str] | None = None) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "F":
        return _from_float(np.asarray(image), path, notices)
    if mode in SIXTEEN_BIT_MODES:
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) > 255 or mode != "I" else 255.0
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if has_alpha(image):
        return _flatten_alpha(image)
    if mode in ("L", "1", "P", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return image.convert("RGB")
    raise ImageError(f"{path}: unsupported image mode {mode}; save it as 8-bit RGB (PNG or JPEG)")


@dataclass(frozen=True)
class Loaded:
    """A decoded, upright input image: 8-bit RGB (transparency composited on white, as a viewer
    shows it) and its alpha channel (mode L) where the file has one."""

    rgb: Image.Image
    alpha: Image.Image | None


def load(path: str | Path, notices: list[str] | None = None) -> Loaded:
    """Decode any image a user gives, or raise `ImageError` naming the file and what to do.

    Pillow decodes what it can; float and multi-sample TIFFs it cannot (RGB 32-bit float) go
    through tifffile. Whatever the user should know about the conversion (float values
    clipped) is appended to `notices`.
    """
    image = _decode(Path(path), notices)
    alpha = image.convert("RGBA").getchannel("A") if has_alpha(image) else None
    return Loaded(_to_rgb(image, Path(path), notices), alpha)


def load_rgb(path: str | Path, notices: list[str] | None = None) -> Image.Image:
    """`load`'s RGB image alone."""
    return load(path, notices).rgb


def _decode(path: Path, notices: list[str] | None) -> Image.Image:
    """The file's pixels, upright, in the mode they were stored in (floats from tifffile as RGB[A])."""
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
                return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{path}: has more than {MAX_PIXELS:,} pixels (a possible decompression bomb); "
            "downscale it before use"
        ) from None
    except UnidentifiedImageError:
        if path.suffix.lower() in (".tif", ".tiff"):
            return _read_tiff_pillow_cannot(path, notices)
        raise ImageError(f"{path}: not an image Pillow can read (corrupt, or not an image file)") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{path}: cannot be decoded ({exc}); the file is truncated or corrupt") from None


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is `longest`, keeping the aspect ratio."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


REDUCING_GAP = 3.0  # Pillow's box reduce by whole factors first, Lanczos for the last <= 3x (nst.coarse_style follows it)


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos resampling (with Pillow's reducing_gap for big downscales) to (width, height)."""
    if image.size == tuple(size):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def to_array(image: Image.Image) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 255]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """RGB [0, 255] (H, W, 3) -> BGR minus the ImageNet mean, with a batch axis: (1, H, W, 3)."""
    bgr = np.asarray(rgb, dtype=np.float32)[..., ::-1] - IMAGENET_BGR_MEAN
    return bgr[np.newaxis].copy()


def deprocess(x: np.ndarray) -> np.ndarray:
    """The inverse of `preprocess`, clipped and rounded to (H, W, 3) uint8 RGB."""
    bgr = np.asarray(x, dtype=np.float32).reshape(x.shape[-3:]) + IMAGENET_BGR_MEAN
    np.rint(bgr, out=bgr)  # in place: at print size each temporary is hundreds of MB
    np.clip(bgr, 0, 255, out=bgr)
    return bgr[..., ::-1].astype(np.uint8)


def deprocess_float(x: np.ndarray) -> np.ndarray:
    """The inverse of `preprocess` as (H, W, 3) float64 RGB in [0, 255], unrounded (for 16-bit output)."""
    bgr = np.array(x, dtype=np.float64).reshape(x.shape[-3:])  # a copy, changed in place below
    bgr += IMAGENET_BGR_MEAN.astype(np.float64)
    return np.clip(bgr, 0, 255, out=bgr)[..., ::-1]


def to_sixteen_bits(rgb: np.ndarray) -> np.ndarray:
    """[0, 255] values (uint8 or float) -> uint16, 255 becoming 65535."""
    scaled = np.asarray(rgb, np.float64) * 257.0
    np.rint(scaled, out=scaled)
    return np.clip(scaled, 0, 65535, out=scaled).astype(np.uint16)


def save_sixteen_bits(pixels: np.ndarray, path: str | Path) -> None:
    """Write uint16 RGB(A) atomically: TIFF through tifffile, PNG chunk by chunk (Pillow writes
    neither 16-bit RGB format)."""
    import struct
    import zlib

    path = Path(path)
    pixels = np.ascontiguousarray(pixels, np.uint16)
    h, w, channels = pixels.shape
    with atomic_path(path) as tmp:
        if output_format(path) == "TIFF":
            import tifffile

            tifffile.imwrite(tmp, pixels, photometric="rgb", extrasamples=["unassalpha"] if channels == 4 else None)
            return
        colour_type = {3: 2, 4: 6}[channels]
        raw = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(h))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
        Path(tmp).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
                              + chunk(b"IEND", b""))


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)


def save_png(rgb: np.ndarray, path: str | Path) -> None:
    """Write uint8 RGB or RGBA atomically, so an interrupted run leaves no half image.

    Formats without transparency (JPEG, BMP) get an RGBA image composited on white.
    """
    path = Path(path)
    pixels = np.asarray(rgb, dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA" if pixels.shape[-1] == 4 else "RGB")
    if image.mode == "RGBA" and output_format(path) in ("JPEG", "BMP"):
        image = _flatten_alpha(image)
    with atomic_path(path) as tmp:
        image.save(tmp, format=output_format(path))


def output_format(path: str | Path) -> str:
    """The format an output path's suffix asks for: JPEG, WEBP, TIFF, BMP, else PNG."""
    path = Path(path)
    suffix = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}.get(
        suffix, "PNG"
    )
