"""The `nst` command's options, generated from `TransferSettings` (one option per setting)."""

from __future__ import annotations

import argparse
import dataclasses

from .settings import MODEL, OPTIMISATION, Option, TransferSettings, field_kinds


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


def add_arguments(parser: argparse.ArgumentParser, groups: tuple[str, ...] = (MODEL, OPTIMISATION)) -> None:
    """One command-line option per setting of the given groups, with its default and help."""
    titles = {MODEL: "network and loss (defaults: the article's)", OPTIMISATION: "optimisation (defaults: the article's)"}
    defaults = TransferSettings()
    for group in groups:
        g = parser.add_argument_group(titles[group])
        for f in dataclasses.fields(TransferSettings):
            opt: Option = f.metadata["option"]
            if opt.group != group:
                continue
            kind, default = field_kinds()[f.name], getattr(defaults, f.name)
            help_text = opt.help + (f" (default {_shown(default)})" if default is not None else "")
            # SUPPRESS: only the options given appear, so they can win over a preset
            if kind.base is bool:
                g.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
                continue
            convert = _PARSERS.get((kind.container, kind.base), kind.base)
            g.add_argument(flag(f.name), type=convert, default=argparse.SUPPRESS, choices=opt.choices or None,
                           metavar=opt.metavar, help=help_text)


def from_arguments(args: argparse.Namespace) -> TransferSettings:
    """The settings of a command line: its preset, with the options it gives over it."""
    names = {f.name for f in dataclasses.fields(TransferSettings)}
    given = {k: v for k, v in vars(args).items() if k in names}
    return TransferSettings.from_preset(given.pop("preset", "article"), **given)


