"""The workflow's schemas and config/README.md's tables, generated from `TransferSettings`.

    python -m nst.settings_docs schema        the `nst:` block's JSON schema (workflow/schemas/nst.schema.yaml)
    python -m nst.settings_docs config FILE   rewrite the config schema's keys that are settings (size, seed, video, …)
    python -m nst.settings_docs table FILE    rewrite the two tables of a Markdown file (config/README.md)

`make docs` runs all three; tests/test_settings.py fails when a file differs from what they write.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .settings import SPELLINGS, Kind, Option, TransferSettings, field_kinds
from .video.settings import TEMPORAL_WEIGHT, VideoSettings


_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _item_schema(kind: Kind, opt: Option) -> dict:
    schema: dict = {"type": _JSON_TYPES[kind.base]}
    if opt.choices:
        schema["enum"] = list(opt.choices)
    if opt.minimum is not None:
        schema["minimum"] = opt.minimum
    if opt.above is not None:
        schema["exclusiveMinimum"] = opt.above
    if opt.maximum is not None:
        schema["maximum"] = opt.maximum
    return schema


def _property(name: str, default_for_workflow: bool = False, settings: type = TransferSettings) -> dict:
    """One setting's schema: description, type and bounds, and its default."""
    field = next(f for f in dataclasses.fields(settings) if f.name == name)
    opt, kind = field.metadata["option"], field_kinds(settings)[name]
    if kind.container == "list":
        schema = {"type": "array", "items": _item_schema(kind, opt)}
    elif kind.container == "dict":
        schema = {"type": "object", "additionalProperties": _item_schema(kind, opt)}
    else:
        schema = _item_schema(kind, opt)
    default = getattr(settings(), name)
    if default_for_workflow and opt.workflow_default != "same":
        default = opt.workflow_default
    if kind.optional and default is None:
        schema["type"] = [schema["type"], "null"]
    return {"description": opt.help, **schema, "default": default}


def workflow_options(settings: type = TransferSettings) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(settings) if f.metadata["option"].in_workflow]


def video_schema() -> dict:
    """The config's `video:` block: every VideoSettings option, its type, bounds and default."""
    return {
        "description": "how clips are read and chained, as `nst video` names its options (`video.*` below; "
        "generated from nst/video/settings.py); the temporal term's weight is a weights entry's `temporal` "
        f"(default {TEMPORAL_WEIGHT:g})",
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _property(f.name, settings=VideoSettings) for f in workflow_options(VideoSettings)},
        "default": {},
    }


def spelling_schemas() -> dict:
    """The `nst:` keys that are another option's value (SPELLINGS): a boolean each."""
    return {name: {"description": f"true: the same as {option_name}: {value}", "type": "boolean"}
            for name, (option_name, value) in SPELLINGS.items()}


def nst_schema() -> dict:
    """JSON schema of the workflow's `nst:` block: every workflow option, its type, bounds and default."""
    properties = {f.name: _property(f.name) for f in workflow_options()} | spelling_schemas()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "Options of every transfer, as `nst transfer` names them (underscores for dashes). "
        "Generated from nst/settings.py by `python -m nst.settings_docs schema`: do not edit by hand.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def config_properties() -> dict:
    """The config schema's keys that are settings of every run: `size`, `seed` (a sweep's
    default), `weights` (each entry's weights bounded as the weight options are) and the sweep
    axes over options (`color_transfers`)."""
    weight = _item_schema(field_kinds()["content_weight"], _option("content_weight"))
    return {
        "size": _property("size"),
        "seed": _property("seed", default_for_workflow=True),
        "weights": {
            "description": "the loss terms' weights of each run: every content x style is run with each entry, "
            "an [cw, sw, tvw] triple (the article's) or a mapping by term name ({content: 0.025, style: 5, tv: 1, "
            "temporal: 200}); terms an entry leaves out keep their defaults",
            "type": "array",
            "minItems": 1,
            "items": {"oneOf": [
                {"type": "array", "items": weight, "minItems": 3, "maxItems": 3},
                {"type": "object", "minProperties": 1, "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                 "additionalProperties": weight},
            ]},
            "default": [[_default("content_weight"), _default("style_weight"), _default("tv_weight")]],
        },
        "color_transfers": {
            "description": "colour modes to sweep, as nst.color_transfer names them: every content x style x "
            "weights runs in each, and a mode other than none is named in the run's name and labels; empty: "
            "nst.color_transfer for every run",
            "type": "array",
            "items": _item_schema(field_kinds()["color_transfer"], _option("color_transfer")),
            "default": [],
        },
        "video": video_schema(),
    }


def _option(name: str) -> Option:
    return next(f.metadata["option"] for f in dataclasses.fields(TransferSettings) if f.name == name)


def _default(name: str):
    return getattr(TransferSettings(), name)


def write_config_schema(path: Path) -> None:
    """Rewrite the generated keys of the config schema (a YAML file), keeping the others as they are."""
    import yaml

    schema = yaml.safe_load(path.read_text())
    schema["properties"].update(config_properties())
    path.write_text(yaml.safe_dump(schema, sort_keys=False, width=100, allow_unicode=True))


def _yaml(value) -> str:
    import json

    return '""' if value == "" else json.dumps(value).replace('"', "")


TABLE_START, TABLE_END = "<!-- config keys:", "<!-- end of config keys -->"
NST_START, NST_END = "<!-- nst options:", "<!-- end of nst options -->"
VIDEO_START, VIDEO_END = "<!-- video options:", "<!-- end of video options -->"


def config_table(schema: dict) -> str:
    """The Markdown rows of config/README.md's top-level keys, from the config schema."""
    rows = []
    required = schema.get("required", [])
    for key, spec in schema["properties"].items():
        default = "(required)" if key in required else f"`{_yaml(spec.get('default'))}`"
        rows.append(f"| `{key}` | {default} | {' '.join(spec['description'].split())} |")
    return "\n".join(rows)


def options_table(settings: type = TransferSettings, block: str = "nst") -> str:
    """The Markdown rows of config/README.md's `nst.*` keys (or another block's), defaults written as YAML."""
    rows = []
    for f in workflow_options(settings):
        opt = f.metadata["option"]
        allowed = f" One of {', '.join(f'`{c}`' for c in opt.choices)}." if opt.choices else ""
        rows.append(f"| `{block}.{f.name}` | `{_yaml(getattr(settings(), f.name))}` | {opt.help}.{allowed} |")
    if settings is TransferSettings:
        rows += [f"| `{block}.{name}` | | {spec['description']} |" for name, spec in spelling_schemas().items()]
    return "\n".join(rows)


def _between(text: str, start_marker: str, end_marker: str, rows: str) -> str:
    start = text.index("\n", text.index(start_marker)) + 1
    end = text.index(end_marker)
    return text[:start] + rows + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    import sys

    import yaml

    what = (argv if argv is not None else sys.argv[1:]) or ["schema"]
    if what == ["schema"]:
        print("# Generated from nst/settings.py by `python -m nst.settings_docs schema`; do not edit by hand.")
        print(yaml.safe_dump(nst_schema(), sort_keys=False, width=100), end="")
    elif what[0] == "config" and len(what) == 2:
        write_config_schema(Path(what[1]))
    elif what[0] == "table" and len(what) == 3:  # MARKDOWN_FILE CONFIG_SCHEMA
        path = Path(what[1])
        schema = yaml.safe_load(Path(what[2]).read_text())
        text = _between(path.read_text(), TABLE_START, TABLE_END, config_table(schema))
        text = _between(text, NST_START, NST_END, options_table())
        path.write_text(_between(text, VIDEO_START, VIDEO_END, options_table(VideoSettings, "video")))
    else:
        print("usage: python -m nst.settings_docs [schema | config CONFIG_SCHEMA | table MARKDOWN_FILE CONFIG_SCHEMA]",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
