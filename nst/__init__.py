"""nst: Gatys-style neural style transfer on TensorFlow, faithful to the seed article.

`stylize(content, styles, TransferSettings(...))` runs one transfer; the `nst` command
wraps it. Observers (`nst.run.Observer`) watch a run; loss terms (`nst.terms`) are named
and a plugin can add one. TensorFlow is imported only when a transfer starts, so
`nst --help` is quick.
"""

__version__ = "0.1.0"

__all__ = ["TransferSettings", "stylize", "Observer", "StopRun", "__version__"]

_LAZY = {
    "stylize": ("transfer", "stylize"),
    "TransferSettings": ("settings", "TransferSettings"),
    "Observer": ("run", "Observer"),
    "StopRun": ("run", "StopRun"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(name)
