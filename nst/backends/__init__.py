"""The boundary between nst's maths and the tensor library it runs on: TensorFlow or PyTorch.

Written once, above the boundary: the loss terms (nst/terms.py) and their maths (nst/losses.py),
the objective (nst/objective.py), tiling (nst/tiling.py) and the coarse style (nst/coarse_style.py).
They reach a library only through a `Backend`:

* `ops`: the array functions a term's maths is written with (sums, products, casts, stacking,
  padding, a custom gradient), the same names on both libraries;
* `function` and `value_and_grad`: how a graph is compiled (TensorFlow traces a `tf.function`;
  PyTorch runs eagerly) and differentiated with respect to the image;
* `network`: VGG's convolutions and their gradient;
* `vectors`: the arrays the optimiser keeps (NumPy on the host for TensorFlow, tensors on the
  device for PyTorch), so an image, its gradient and the float32 L-BFGS's memory stay where the
  network computes;
* what it says of its device: its name, its free memory, whether bfloat16 pays there.

A plugin term written with `self.ops` runs on both. `backend_for(settings.backend, settings.device)`
gives the one a run uses; "auto" takes the one the environment variable NST_BACKEND names, else
TensorFlow where it is installed, else PyTorch.
"""

from __future__ import annotations

import importlib.util
import os

from ..errors import SettingsError

BACKENDS = ("tensorflow", "torch")
INSTALL = {"tensorflow": "pip install 'nst[cpu]' (or 'nst[gpu]' on a CUDA machine)", "torch": "pip install 'nst[torch]'"}
MODULES = {"tensorflow": "tensorflow", "torch": "torch"}


def installed(name: str) -> bool:
    """Whether a backend's library can be imported here (found without importing it)."""
    try:
        return importlib.util.find_spec(MODULES[name]) is not None
    except (ImportError, ValueError):  # a finder that refuses it: as good as absent
        return False


def resolve(name: str) -> str:
    """The backend `name` stands for: itself, or for "auto" the one NST_BACKEND names, else TensorFlow
    where installed, else PyTorch."""
    if name == "auto" and os.environ.get("NST_BACKEND", "auto") != "auto":
        name = os.environ["NST_BACKEND"]
    if name == "auto":
        found = [b for b in BACKENDS if installed(b)]
        if not found:
            raise SettingsError("backend", f"neither TensorFlow nor PyTorch is installed: {INSTALL['tensorflow']}, "
                                           f"or {INSTALL['torch']}")
        return found[0]
    if name not in BACKENDS:
        raise SettingsError("backend", f"must be one of auto, {', '.join(BACKENDS)}, got {name!r}")
    if not installed(name):
        raise SettingsError("backend", f"{name} is not installed here: {INSTALL[name]}")
    return name


_BACKENDS: dict[tuple[str, str], object] = {}


def backend_for(name: str = "auto", device: str = "auto"):
    """The backend (kept per process) that `name` and `device` resolve to."""
    name = resolve(name)
    key = (name, device)
    if key not in _BACKENDS:
        if name == "tensorflow":
            from .tensorflow_backend import TensorFlowBackend

            _BACKENDS[key] = TensorFlowBackend(device)
        else:
            from .torch_backend import TorchBackend

            _BACKENDS[key] = TorchBackend(device)
    return _BACKENDS[key]
