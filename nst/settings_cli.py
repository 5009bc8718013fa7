"""The `nst` command's options, generated from `TransferSettings` (one option per setting)."""

from __future__ import annotations

import argparse
import dataclasses

from .settings import MODEL, OPTIMISATION, SPELLINGS, Option, TransferSettings, field_kinds, spelled_out


def _list_of(convert, noun):
    def parse(text: str):
        try:
            return [convert(v) for v in text.replace(",", " ").split()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun} separated by commas, got {text!r}") from None

    return parse


def _name_weights(text: str) -> dict[str, float]:
    pairs = {}
    for item in filter(None, text.replace(",", " ").split()):
        name, sep, weight = item.partition("=")
        try:
            pairs[name] = float(weight)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT pairs separated by commas, got {text!r}")
    return pairs


_PARSERS = {
    ("list", int): _list_of(int, "whole numbers"),
    ("list", float): _list_of(float, "numbers"),
    ("list", str): _list_of(str, "names"),
    ("dict", float): _name_weights,
}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _shown(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)


TITLES = {MODEL: "network and loss (defaults: the article's)", OPTIMISATION: "optimisation (defaults: the article's)",
          "video": "video"}


def add_arguments(parser: argparse.ArgumentParser, groups: tuple[str, ...] = (MODEL, OPTIMISATION),
                  settings: type = TransferSettings) -> None:
    """One command-line option per setting of the given groups of a settings dataclass (a
    transfer's unless another is named), with its default and help."""
    defaults = settings()
    for group in groups:
        g = parser.add_argument_group(TITLES[group])
        for f in dataclasses.fields(settings):
            opt: Option = f.metadata["option"]
            if opt.group != group or not opt.in_cli:
                continue
            kind, default = field_kinds(settings)[f.name], getattr(defaults, f.name)
            help_text = opt.help + (f" (default {_shown(default)})" if default is not None else "")
            # SUPPRESS: only the options given appear, so they can win over a preset
            if kind.base is bool:
                g.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
                continue
            convert = _PARSERS.get((kind.container, kind.base), kind.base)
            g.add_argument(flag(f.name), type=convert, default=argparse.SUPPRESS, choices=opt.choices or None,
                           metavar=opt.metavar, help=help_text)
            for name, (option_name, value) in SPELLINGS.items():
                if option_name == f.name:
                    g.add_argument(flag(name), action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                                   help=f"the same as {flag(option_name)} {value}")


def given(args: argparse.Namespace, settings: type = TransferSettings) -> dict:
    """The options of a settings dataclass that a command line gives."""
    names = {f.name for f in dataclasses.fields(settings)}
    return {k: v for k, v in vars(args).items() if k in names}


def from_arguments(args: argparse.Namespace) -> TransferSettings:
    """The settings of a command line: its preset, with the options it gives over it (their other
    spellings, such as --preserve-color, read as what they stand for)."""
    options = spelled_out({**given(args), **{k: v for k, v in vars(args).items() if k in SPELLINGS}})
    return TransferSettings.from_preset(options.pop("preset", "article"), **options)


