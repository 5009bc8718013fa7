"""Named loss terms: a term registered by a plugin reaches the objective, the history, the
run record and the workflow's summary.csv without an edit anywhere else."""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from nst import images
from nst.engine import engine_for
from nst.errors import SettingsError
from nst.inputs import Inputs
from nst.settings import TransferSettings
from nst.transfer import stylize
from snakemake_runner import ROOT, snakemake

PLUGINS = Path(__file__).parent / "plugins"
EXTRA = dict(plugins=["mean_colour_term"], terms={"mean_colour": 1000.0})
TINY = dict(size=64, iterations=2, evals_per_iteration=3, seed=7, precision="float32")


@pytest.fixture
def plugin_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))


def test_the_extra_term_is_weighted_and_summed_like_the_built_in_ones(small_images, plugin_on_path):
    settings = TransferSettings(**TINY, **EXTRA)
    stage = Inputs.load(small_images["content"], [small_images["style"]], settings).stage(settings, 64)
    objective = engine_for(settings).objective
    assert objective.names == ["content", "style", "tv", "mean_colour"]
    x = (np.random.default_rng(3).uniform(0, 255, (1, 64, 64, 3)) - 128).astype(np.float32)
    losses = objective.value(x, stage.targets(objective, settings))
    style = images.preprocess(stage.style_nets[0]).astype(np.float64)
    expected = 1000.0 * np.sum((x.astype(np.float64).mean(axis=(0, 1, 2)) - style.mean(axis=(0, 1, 2))) ** 2)
    assert losses["mean_colour"] == pytest.approx(expected, rel=1e-4)
    assert losses.total == pytest.approx(sum(losses.parts.values()), rel=1e-6)


def test_the_extra_term_reaches_history_record_and_the_image(tmp_path, small_images, plugin_on_path):
    result = stylize(small_images["content"], [small_images["style"]], TransferSettings(**TINY, **EXTRA),
                     history_path=tmp_path / "h.csv", record_path=tmp_path / "r.json", progress=False)
    with open(tmp_path / "h.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["stage", "size", "iteration", "total_loss", "content_loss", "style_loss", "tv_loss",
                             "mean_colour_loss", "evaluations", "seconds"]
    assert float(rows[-1]["mean_colour_loss"]) == result.history[-1].mean_colour_loss > 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["final_losses"]["mean_colour"] == result.history[-1].losses["mean_colour"]
    assert record["settings"]["terms"] == {"mean_colour": 1000.0}
    # the term acts: weighted heavily, the result's mean colour moves towards the style's
    plain = stylize(small_images["content"], [small_images["style"]], TransferSettings(**TINY), progress=False)
    heavy = stylize(small_images["content"], [small_images["style"]],
                    TransferSettings(**TINY, plugins=EXTRA["plugins"], terms={"mean_colour": 1e6}), progress=False)
    style_mean = np.asarray(images.load_rgb(small_images["style"]), np.float64).mean(axis=(0, 1))

    def distance(image):
        return float(np.linalg.norm(image.astype(np.float64).mean(axis=(0, 1)) - style_mean))

    assert distance(heavy.image) < distance(plain.image)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"terms": {"sparkle": 1.0}}, "option terms: no loss term named 'sparkle'"),
        ({"plugins": ["no_such_plugin"], "terms": {}}, "option plugins: cannot import 'no_such_plugin'"),
        ({"terms": {"style": 2.0}}, "option terms: 'style' is a built-in term"),
        ({"terms": {"mean_colour": -1.0}}, "option terms: must be a finite number >= 0"),
    ],
)
def test_unknown_or_bad_terms_are_named(small_images, plugin_on_path, change, message):
    settings = TransferSettings(**TINY, **{**EXTRA, **change})
    with pytest.raises(SettingsError, match=message):
        stylize(small_images["content"], [small_images["style"]], settings, progress=False)


def test_a_sweep_of_the_extra_terms_weight_by_name_runs_with_no_workflow_edit(tmp_path):
    """`weights:` entries by term name: the article's triple, the plugin term added, a built-in left to its default."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "contents": {"chelsea": str(ROOT / "data/content/chelsea.png")},
        "styles": {"mosaic": str(ROOT / "data/styles/mosaic.png")},
        "weights": [[0.025, 5, 1], {"content": 0.025, "style": 5, "tv": 1, "mean_colour": 100},
                    {"style": 50, "mean_colour": 1000}],
        "size": 48,
        "nst": {"iterations": 2, "evals_per_iteration": 3, "precision": "float32", "plugins": ["mean_colour_term"]},
    }))
    pythonpath = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
    snakemake(tmp_path, "--cores", "2", "--configfile", config, env={"PYTHONPATH": pythonpath})
    runs = {"c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1": {},
            "c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1_mean_colour_100": {"mean_colour": 100.0},
            "c_chelsea_s_mosaic_cw_0.025_sw_50_tvw_1_mean_colour_1000": {"mean_colour": 1000.0}}
    assert sorted(p.name for p in (tmp_path / "results/runs").iterdir()) == sorted(runs)
    for run, terms in runs.items():
        record = json.loads((tmp_path / f"results/runs/{run}/run.json").read_text())
        assert record["settings"]["terms"] == terms
        with open(tmp_path / f"results/runs/{run}/history.csv") as f:
            assert ("mean_colour_loss" in next(csv.reader(f))) == bool(terms)
    with open(tmp_path / "results/summary.csv") as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0])
    assert columns[:7] == ["run", "content", "style", "content_weight", "style_weight", "tv_weight",
                           "mean_colour_weight"]
    assert columns.index("mean_colour_loss") == columns.index("tv_loss") + 1
    by_run = {r["run"]: r for r in rows}
    assert by_run["c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1"]["mean_colour_weight"] == ""
    assert by_run["c_chelsea_s_mosaic_cw_0.025_sw_50_tvw_1_mean_colour_1000"]["style_weight"] == "50"
    assert float(by_run["c_chelsea_s_mosaic_cw_0.025_sw_5_tvw_1_mean_colour_100"]["mean_colour_loss"]) > 0
    assert (tmp_path / "results/grids/by_pair/c_chelsea_s_mosaic.png").is_file()
