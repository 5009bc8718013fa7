"""One source per setting: the CLI, the workflow's schemas and config/README.md all follow
nst/settings.py, and these tests fail on any drift between them."""

import copy
import dataclasses
import re

import pytest
import yaml

from nst.cli import build_parser
from nst.errors import SettingsError
from nst.settings import SPELLINGS, TransferSettings
from nst.settings_cli import from_arguments
from nst.settings_docs import config_properties, config_table, nst_schema, options_table, workflow_options
from snakemake_runner import ROOT

SCHEMA = ROOT / "workflow" / "schemas" / "nst.schema.yaml"
CONFIG_SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
REMAKE = "run: make docs"


def schema_drift(schema: dict) -> list[str]:
    """Every difference between a schema of the `nst:` block and the settings, one line each."""
    defaults = TransferSettings()
    problems = []
    found = schema["properties"]
    for f in workflow_options():
        if f.name not in found:
            problems.append(f"{f.name}: missing from the schema")
            continue
        if found[f.name].get("default") != getattr(defaults, f.name):
            problems.append(f"{f.name}: default {found[f.name].get('default')!r} != {getattr(defaults, f.name)!r}")
        choices = f.metadata["option"].choices
        if list(choices) != found[f.name].get("enum", []):
            problems.append(f"{f.name}: choices {found[f.name].get('enum')} != {list(choices)}")
    problems += [f"{name}: not a setting" for name in set(found) - {f.name for f in workflow_options()} - set(SPELLINGS)]
    if found != nst_schema()["properties"]:
        problems.append("the schema differs from `python -m nst.settings_docs schema`")
    return problems


def test_the_workflow_schema_is_the_one_generated_from_the_settings():
    assert schema_drift(yaml.safe_load(SCHEMA.read_text())) == [], REMAKE


@pytest.mark.parametrize("key, value", [("iterations", 7), ("precision", "float32"), ("style_scale", 2.0)])
def test_the_drift_check_fails_when_a_default_differs(key, value):
    schema = copy.deepcopy(yaml.safe_load(SCHEMA.read_text()))
    schema["properties"][key]["default"] = value
    assert any(line.startswith(f"{key}: default") for line in schema_drift(schema))


def test_the_drift_check_fails_when_an_option_is_missing_or_extra():
    schema = copy.deepcopy(yaml.safe_load(SCHEMA.read_text()))
    del schema["properties"]["lbfgs_step"]
    schema["properties"]["sharpness"] = {"type": "number", "default": 1}
    problems = schema_drift(schema)
    assert "lbfgs_step: missing from the schema" in problems and "sharpness: not a setting" in problems


def test_config_readme_lists_every_key_and_option_with_its_default():
    readme = (ROOT / "config" / "README.md").read_text()
    block = re.search(r"<!-- nst options:.*?-->\n(.*?)<!-- end of nst options -->", readme, re.S).group(1)
    assert block.strip() == options_table().strip(), REMAKE
    keys = re.search(r"<!-- config keys:.*?-->\n(.*?)<!-- end of config keys -->", readme, re.S).group(1)
    assert keys.strip() == config_table(yaml.safe_load(CONFIG_SCHEMA.read_text())).strip(), REMAKE
    assert "| `size` | `512` | longest side of the result in pixels" in keys and "| `seed` | `0` |" in keys


def test_the_config_schemas_size_seed_and_weights_come_from_the_settings():
    properties = yaml.safe_load(CONFIG_SCHEMA.read_text())["properties"]
    assert {key: properties[key] for key in config_properties()} == config_properties(), REMAKE
    assert properties["color_transfers"]["items"]["enum"] == list(TransferSettings.__dataclass_fields__[
        "color_transfer"].metadata["option"].choices)
    size, seed = (f.metadata["option"] for f in dataclasses.fields(TransferSettings) if f.name in ("size", "seed"))
    assert properties["size"]["minimum"] == size.minimum == 16 and properties["size"]["default"] == TransferSettings().size
    assert properties["seed"]["default"] == seed.workflow_default == 0 and TransferSettings().seed is None
    assert properties["seed"]["maximum"] == 2**32 - 1
    weight = properties["weights"]["items"]["oneOf"][1]["additionalProperties"]
    assert weight == {"type": "number", "minimum": 0}


@pytest.mark.parametrize("values, message", [({"size": 8}, "option size: must be a whole number >= 16, got 8"),
                                             ({"seed": 2**32}, "option seed: must be a whole number <= 4294967295, got 4294967296"),
                                             ({"content_weight": -1}, "option content_weight: must be a finite number >= 0")])
def test_the_engine_refuses_what_the_schema_refuses(values, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        TransferSettings(**values).validate()


def test_every_setting_is_an_option_of_nst_transfer_with_the_same_default():
    parser = build_parser()
    args = parser.parse_args(["transfer", "c.png", "s.png", "-o", "o.png"])
    assert from_arguments(args) == TransferSettings()
    help_text = parser._subparsers._group_actions[0].choices["transfer"].format_help()
    for f in dataclasses.fields(TransferSettings):
        assert "--" + f.name.replace("_", "-") in help_text, f.name


def test_options_parse_from_the_command_line():
    args = build_parser().parse_args(["transfer", "c.png", "s.png", "-o", "o.png", "--scales", "128,256",
                                      "--terms", "mean_colour=1e3", "--plugins", "a,b", "--seed", "3",
                                      "--preserve-color", "--style-layers", "block1_conv1"])
    settings = from_arguments(args)
    assert settings.scales == [128, 256] and settings.terms == {"mean_colour": 1000.0}
    assert settings.plugins == ["a", "b"] and settings.seed == 3 and settings.color_transfer == "luminance"
    assert settings.style_layers == ["block1_conv1"]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"iterations": 0}, "option iterations: must be a whole number >= 1, got 0"),
        ({"iterations": True}, "option iterations: must be a whole number >= 1, got True"),
        ({"learning_rate": 0}, "option learning_rate: must be above 0"),
        ({"precision": "half"}, "option precision: must be one of auto, float32, tf32, bfloat16, got 'half'"),
        ({"scales": [256, "x"]}, "option scales: must be a whole number >= 1, got 'x'"),
        ({"tv_weight": float("nan")}, "option tv_weight: must be a finite number >= 0"),
        ({"scales": [32], "scale_evals": [5, 5]}, "option scale_evals: needs one number per scale"),
        ({"seed": 2**32}, r"option seed: must be a whole number <= 4294967295, got 4294967296"),
        ({"terms": {"a": "b"}}, "option terms: must be a finite number >= 0, got 'b'"),
    ],
)
def test_bad_values_are_named(values, message):
    with pytest.raises(SettingsError, match=message):
        TransferSettings(**values).validate()


def test_a_config_mapping_with_an_unknown_key_is_named():
    with pytest.raises(SettingsError, match="option iteratons: is not an option"):
        TransferSettings.from_mapping({"iteratons": 3})


def test_stages_frames_and_evaluation_forecast():
    settings = TransferSettings(size=64, scales=[24, 40], scale_evals=[7, 4], iterations=2, evals_per_iteration=3)
    assert settings.stages() == [(24, 1, 7), (40, 1, 4), (64, 2, 3)]
    assert settings.frame_count() == 4 and settings.planned_evaluations() == 17
    assert settings.expected_evaluations() == 17 + 2 * 4  # L-BFGS's line search: up to 2 more per call
    assert TransferSettings(optimizer="adam", iterations=3, evals_per_iteration=5).expected_evaluations() == 15
    assert TransferSettings(style_scale=0.5).style_size(512) == 256


# --- the video options: one declaration (nst/video/settings.py), the same checks ---------------------


def test_every_video_option_is_a_flag_of_nst_video_a_key_of_video_and_a_row_of_config_readme():
    from nst.settings_cli import given
    from nst.settings_docs import video_schema
    from nst.video.settings import VideoSettings

    parser = build_parser()
    args = parser.parse_args(["video", "clip.mp4", "s.png", "-o", "o.mp4"])
    assert VideoSettings(**given(args, VideoSettings)) == VideoSettings()
    help_text = parser._subparsers._group_actions[0].choices["video"].format_help()
    fields = dataclasses.fields(VideoSettings)
    for f in fields:
        assert (flag := "--" + f.name.replace("_", "-")) in help_text or not f.metadata["option"].in_cli, flag
    args = parser.parse_args(["video", "c.mp4", "s.png", "-o", "o.mp4", "--start", "2", "--stop", "9", "--step", "2",
                              "--fps", "12", "--frame-evals", "4", "--independent", "--fill", "content"])
    assert VideoSettings(**given(args, VideoSettings)) == VideoSettings(2, 9, 2, 12.0, 4, True, "content")

    block = yaml.safe_load(CONFIG_SCHEMA.read_text())["properties"]["video"]
    assert block == video_schema(), REMAKE
    assert {name: spec["default"] for name, spec in block["properties"].items()} == dataclasses.asdict(VideoSettings())
    readme = (ROOT / "config" / "README.md").read_text()
    rows = re.search(r"<!-- video options:.*?-->\n(.*?)<!-- end of video options -->", readme, re.S).group(1)
    assert rows.strip() == options_table(VideoSettings, "video").strip(), REMAKE
    assert [line.split("`")[1] for line in rows.strip().splitlines()] == [f"video.{f.name}" for f in fields]


def test_a_video_option_the_chain_cannot_use_is_named():
    from nst.video.settings import VideoSettings

    with pytest.raises(SettingsError, match="option frame_evals: must be a whole number >= 0, got -1"):
        VideoSettings(frame_evals=-1).validate()
    with pytest.raises(SettingsError, match="option fill: must be one of warped, content, got 'edges'"):
        VideoSettings(fill="edges").validate()


def test_the_temporal_weight_is_a_term_weight_with_a_default_for_videos():
    from nst.video.settings import TEMPORAL_WEIGHT, VideoSettings

    plain = TransferSettings(terms={"mean_colour": 3.0})
    assert VideoSettings().for_video(plain).terms == {"mean_colour": 3.0, "temporal": TEMPORAL_WEIGHT}
    given = TransferSettings(terms={"temporal": 200.0})
    assert VideoSettings().for_video(given).terms == {"temporal": 200.0}
    assert VideoSettings(independent=True).for_video(given).terms == {}
