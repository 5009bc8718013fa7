"""Configuration mistakes that JSON schema misses or words badly, each said in one line.

YAML keeps the last of two equal keys without a word, so a duplicated image name would
silently drop an image; the schema's messages for names and unknown keys quote regular
expressions. These checks run before the schema (common.smk) and name the file, the key
and what to do.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import did_you_mean

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class ConfigProblem(Exception):
    """One problem with the configuration, in one line."""


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigProblem(
                f"{loader.name}, line {key_node.start_mark.line + 1}: {key!r} is given twice "
                f"(also on line {seen[key] + 1}); YAML would keep only the last, so rename or remove one"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def check_files(paths) -> None:
    """Refuse a config file with a key given twice."""
    for path in paths:
        path = Path(path)
        if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
            with open(path, encoding="utf-8") as f:
                loader = _StrictLoader(f)
                loader.name = str(path)
                try:
                    loader.get_single_data()
                except yaml.YAMLError:
                    pass  # Snakemake's own loader reports malformed YAML
                finally:
                    loader.dispose()


def check_config(config: dict, known_keys: list[str]) -> None:
    """Unknown top-level keys and image names that cannot name files and runs."""
    unknown = [key for key in config if key not in known_keys]
    if unknown:
        hints = "; ".join(f"{k!r}{did_you_mean(k, known_keys)}" for k in unknown)
        raise ConfigProblem(f"config: unknown key {hints}; the keys are {', '.join(known_keys)} (config/README.md)")
    for kind in ("contents", "styles"):
        for name in config.get(kind) or {}:
            if not isinstance(name, str) or not NAME.match(name):
                raise ConfigProblem(
                    f"config {kind}: the name {name!r} names files and runs, so it may hold only letters, digits, "
                    "'_' and '-' (not first), and no '/' or spaces"
                )


_TYPES = {"array": "a list", "object": "a mapping", "string": "text", "integer": "a whole number",
          "number": "a number", "boolean": "true or false", "null": "empty"}


def check_schema(config: dict, schema: dict, folder) -> None:
    """The config against the workflow's JSON schema, its first problem in one line naming the key.

    Snakemake's own `validate` (which then fills in the defaults) says the same in a dozen to
    three hundred lines, the schema quoted whole for an unknown key of `nst:`. `folder`: where the
    schema's relative $refs (nst.schema.yaml) are."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
    from referencing import Registry, Resource

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(yaml.safe_load((Path(folder) / uri).read_text(encoding="utf-8")))

    error = best_match(Draft202012Validator(schema, registry=Registry(retrieve=retrieve)).iter_errors(config))
    if error is None:
        return
    where = "".join(f", entry {p + 1}" if isinstance(p, int) else f".{p}" for p in error.absolute_path)[1:]
    value, kind = error.instance, error.validator
    key_of = f"config key {where}" if where else "config"
    if kind == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for key in (k for k in value if k not in known):
            hint = did_you_mean(key, known) or f"; its keys are {', '.join(known)}"
            raise ConfigProblem(f"{key_of}: unknown key {key!r}{hint} (config/README.md)")
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        problem = f"{value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}"
    elif kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        problem = f"must be {' or '.join(_TYPES.get(t, t) for t in wanted)}, got {value!r}"
    elif kind in ("oneOf", "anyOf") and "description" in error.schema:
        problem = f"must be {error.schema['description']}, got {value!r}"
    else:
        problem = error.message
    raise ConfigProblem(f"{key_of}: {problem} (config/README.md)")
