"""TensorFlow, imported once, without its start-up lines on stderr.

TensorFlow's native code writes to file descriptor 2 while it loads, whatever
TF_CPP_MIN_LOG_LEVEL says: "oneDNN custom operations are on" on CPUs where oneDNN is
the default, absl's "All log messages before absl::InitializeLog() is called…", CUDA's
"Unable to register cuDNN factory". Every nst message is one line, so those must not
reach a user or a workflow log. During the import fd 2 points at a temporary file;
afterwards every line that is not start-up chatter is written back, so a real error
still shows. Every module of nst that needs TensorFlow takes it from here
(`from .quiet import tf`), so the first import is always this one.

`tf` is imported at its first use, not when a module takes it: the workflow imports the
engine's settings, terms and memory plans while it parses (no TensorFlow needed), and a run on
another backend never pays for it.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import types

from .errors import say

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Python-side and later native INFO/WARNING lines

# Native log lines (glog format: severity, date, time, thread, file:line]) of the start-up.
_NATIVE = re.compile(r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] ")
_CHATTER = (
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"Unable to register (cuDNN|cuFFT|cuBLAS) factory"),
    re.compile(r"TF-TRT Warning"),
    re.compile(r"computation placer already registered"),
    re.compile(r"failed call to cuInit"),  # a CUDA build on a machine without a GPU: the record says CPU
)


def is_chatter(line: str) -> bool:
    """True for a start-up line of TensorFlow's native code that tells a user nothing to act on."""
    return bool(_NATIVE.match(line)) or any(p.search(line) for p in _CHATTER)


def _import_quietly():
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            tensorflow = _import_without_eager_keras()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines() if not is_chatter(line)]
            if kept:
                say("\n".join(kept), sys.stderr)
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


def _import_without_eager_keras():
    """`import tensorflow`, less the Keras import it does eagerly at its end (only to register
    Keras's optimizers for SavedModel loading, which nst never does): Keras 3 costs ~0.8 s of the
    ~3.5 s every transfer process spends importing TensorFlow (`python -X importtime`), and nst
    imports Keras itself where it uses it (Adam, Keras's weight download). For the import only,
    TensorFlow is told legacy Keras is in use; tf_keras is not installed, so that eager import fails
    and TensorFlow goes on, as it is written to. The environment variable and the module path entry
    it changed are put back, so `tf.keras` still reaches Keras 3."""
    import importlib.util

    if "TF_USE_LEGACY_KERAS" in os.environ or importlib.util.find_spec("tf_keras") is not None:
        import tensorflow

        return tensorflow
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        import tensorflow
    finally:
        del os.environ["TF_USE_LEGACY_KERAS"]
    from tensorflow.python.tools.module_util import get_parent_dir_for_name

    keras_dir = get_parent_dir_for_name("keras.api._v2.keras")  # what the import adds without the variable
    tensorflow.__path__ = [keras_dir if entry is None else entry for entry in tensorflow.__path__
                           if entry is not None or keras_dir is not None]
    return tensorflow


class _TensorFlow(types.ModuleType):
    """`tensorflow`, imported quietly on the first attribute asked of it."""

    def __getattr__(self, name: str):
        module = _import_quietly()
        self.__dict__.update(module.__dict__)  # later lookups go straight to TensorFlow's own
        return getattr(module, name)


def import_now():
    """TensorFlow, imported quietly now, before a library that would import it with its lines (Keras)."""
    return _import_quietly()


def loaded() -> bool:
    """Whether TensorFlow has been imported in this process (by nst or anyone else)."""
    return "tensorflow" in sys.modules


def custom_gradient(function):
    """`tf.custom_gradient`, applied at the first call (so defining one imports no TensorFlow)."""
    wrapped = None

    @functools.wraps(function)
    def call(*args):
        nonlocal wrapped
        if wrapped is None:
            wrapped = tf.custom_gradient(function)
        return wrapped(*args)

    return call


tf = _TensorFlow("tensorflow")
