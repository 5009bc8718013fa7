"""nst: Gatys-style neural style transfer on TensorFlow, faithful to the seed article.

`stylize(content, styles, TransferSettings(...))` runs one transfer; the `nst` command
wraps it. TensorFlow is imported only when a transfer starts, so `nst --help` is quick.
"""

__version__ = "0.1.0"

__all__ = ["TransferSettings", "stylize", "__version__"]


def __getattr__(name):
    if name == "stylize":
        from .transfer import stylize

        return stylize
    if name == "TransferSettings":
        from .settings import TransferSettings

        return TransferSettings
    raise AttributeError(name)
