"""The sweep (nst/workflow/sweep.py): every axis combines with every other, in pair jobs and one run a job.

The axes: images, clips, weights by term name (a plugin's term among them), colour modes, mask sets
that list some of the contents, a run sheet; and the two ways of grouping transfers into jobs. For
every combination of them present or absent the sweep's run table is checked against what the
config asks for, and Snakemake's own DAG of the workflow (what `snakemake -n` plans, built in this
process) against the sweep: every run made by exactly one transfer job, which makes the runs the
job's script is given. One tiny sweep with every axis at once runs for real, and so does the
README's own example.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from PIL import Image

from nst.workflow.config_checks import ConfigProblem
from nst.workflow.sweep import Sweep
from snakemake_runner import ROOT, dag_jobs, snakemake, without

DATA = ROOT / "data"
PLUGINS = ROOT / "tests" / "plugins"
AXES = ("images", "videos", "plugin_weights", "colours", "masks", "sheet", "pair_jobs")


def combinations():
    """Every combination of the axes present or absent that a config can have: a sweep needs images or
    clips, and mask sets and run sheets are of images."""
    for present in itertools.product((False, True), repeat=len(AXES)):
        axes = dict(zip(AXES, present))
        if not (axes["images"] or axes["videos"]):
            continue
        if not axes["images"] and (axes["masks"] or axes["sheet"]):
            continue
        yield axes


def sweep_config(folder: Path, axes: dict, size: int = 48) -> dict:
    """A config with the axes present that `axes` names, on the project's own images."""
    config = {
        "styles": {"strokes": str(DATA / "styles/strokes.png"), "mosaic": str(DATA / "styles/mosaic.png")},
        "size": size,
        "grid_cell": 48,
        "gif_size": 48,
        "pair_jobs": axes["pair_jobs"],
        "nst": {"iterations": 1, "evals_per_iteration": 2, "init": "content", "precision": "float32"},
    }
    if axes["images"]:
        config["contents"] = {"chelsea": str(DATA / "content/chelsea.png"), "coffee": str(DATA / "content/coffee.png")}
    if axes["videos"]:
        config["videos"] = {"pan": str(DATA / "clips/coffee_pan.mp4")}
        config["video"] = {"stop": 3, "frame_evals": 2, "preview_frames": 3}
    if axes["plugin_weights"]:
        config["nst"]["plugins"] = ["mean_colour_term"]
        config["weights"] = [{"content": 0.025, "style": 5, "tv": 1, "mean_colour": 100}, {"style": 0.5}]
    else:
        config["weights"] = [[0.025, 5, 1], [0.025, 0.5, 1]]
    if axes["colours"]:
        config["color_transfers"] = ["none", "histogram"]
    if axes["masks"]:  # both sets list chelsea only
        config["mask_sets"] = {
            "face": {"chelsea": [str(DATA / "masks/chelsea_face.png")]},
            "two": {"chelsea": [str(DATA / "masks/chelsea_face.png"),
                                {"mask": str(DATA / "masks/chelsea_surround.png"), "style": "mosaic"}]},
        }
    if axes["sheet"]:  # three rows; each axis present is a column
        rows = [{"content": "chelsea", "style": "strokes", "cw": "0.025", "sw": "5", "tvw": "1",
                 "mean_colour_weight": "100", "color_transfer": "histogram", "mask_set": "face"},
                {"content": "chelsea", "style": "strokes", "cw": "0.025", "sw": "0.5", "tvw": "1"},
                {"content": "coffee", "style": "mosaic", "cw": "0.025", "sw": "5", "tvw": "1"}]
        present = {"mean_colour_weight": axes["plugin_weights"], "color_transfer": axes["colours"],
                   "mask_set": axes["masks"]}
        columns = [c for c in rows[0] if present.get(c, True)]
        sheet = folder / "runs.tsv"
        sheet.write_text("\n".join("\t".join(row.get(c, "") for c in columns) for row in [dict(zip(columns, columns)),
                                                                                        *rows]) + "\n")
        config["runs"] = str(sheet)
    return config


def expected_runs(axes: dict) -> set[str]:
    """The run names a config of `sweep_config` asks for, written out independently of nst.workflow."""
    weights = ["cw_0.025_sw_5_tvw_1_mean_colour_100", "cw_0.025_sw_0.5_tvw_1"] if axes["plugin_weights"] \
        else ["cw_0.025_sw_5_tvw_1", "cw_0.025_sw_0.5_tvw_1"]
    colours = ["", "_color_histogram"] if axes["colours"] else [""]
    found = set()
    if axes["images"] and axes["sheet"]:
        first = "cw_0.025_sw_5_tvw_1" + ("_mean_colour_100" if axes["plugin_weights"] else "") \
            + ("_color_histogram" if axes["colours"] else "") + ("_mask_face" if axes["masks"] else "")
        found |= {f"c_chelsea_s_strokes_{first}", "c_chelsea_s_strokes_cw_0.025_sw_0.5_tvw_1",
                  "c_coffee_s_mosaic_cw_0.025_sw_5_tvw_1"}
    elif axes["images"]:
        for content, style, w, c in itertools.product(("chelsea", "coffee"), ("strokes", "mosaic"), weights, colours):
            masks = ["", "_mask_face", "_mask_two"] if axes["masks"] and content == "chelsea" else [""]
            found |= {f"c_{content}_s_{style}_{w}{c}{m}" for m in masks}
    if axes["videos"]:  # the temporal term is among a clip's defaults, so before an entry's own further terms
        found |= {f"c_pan_s_{style}_" + w.replace("tvw_1", "tvw_1_temporal_50") + c
                  for style, w, c in itertools.product(("strokes", "mosaic"), weights, colours)}
    return found


def validated(config: dict) -> dict:
    """The config as common.smk has it: checked, and the schema's defaults filled in."""
    from snakemake.utils import validate

    config = json.loads(json.dumps(config))
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    return config


@pytest.fixture(autouse=True)
def _plugins_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("PYTHONPATH", str(PLUGINS))


RUN_OUTPUT = re.compile(r"^results/runs/([^/]+)/\1\.png$")


@pytest.mark.parametrize("axes", list(combinations()),
                         ids=lambda axes: "-".join(a for a, on in axes.items() if on) or "none")
def test_every_combination_of_axes_gives_the_runs_asked_for_each_made_by_one_job(tmp_path, axes):
    config = sweep_config(tmp_path, axes)
    sweep = Sweep(validated(config), config["nst"])
    runs, videos = set(sweep.runs.index), set(sweep.video_runs.index)
    assert runs | videos == expected_runs(axes) and not runs & videos
    for _, row in sweep.runs.iterrows():  # each run's settings are its row's: weights, colour mode, masks
        job = sweep.run_job(row["run"])
        settings = sweep.run_settings(row)
        assert settings.loss_weights() == job["loss_weights"] == {
            t: float(w) for t, w in zip(("content", "style", "tv", "mean_colour"),
                                        (row.get(f"{t}_weight", "") for t in ("content", "style", "tv", "mean_colour")))
            if str(w) not in ("", "nan")}
        assert settings.color_transfer == row["color_transfer"]
        assert len(job["masks"]) == {"none": 0, "face": 1, "two": 2}[row["mask_set"]]
    for _, row in sweep.video_runs.iterrows():
        assert sweep.video_job(row["run"])["loss_weights"]["temporal"] == 50

    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    jobs = dag_jobs(tmp_path, config_file)
    transfers = [(rule, wildcards, outputs) for rule, wildcards, outputs in jobs if rule.startswith("transfer")]
    made = [RUN_OUTPUT.match(path).group(1) for _, _, outputs in transfers for path in outputs
            if RUN_OUTPUT.match(path)]
    assert sorted(made) == sorted(runs)  # every run by exactly one job
    for rule, wildcards, outputs in transfers:  # and the script is given the runs the job declares
        declared = [RUN_OUTPUT.match(p).group(1) for p in outputs if RUN_OUTPUT.match(p)]
        assert [Path(job["image"]).stem for job in sweep.job_runs(wildcards)] == declared
        inputs = sweep.transfer_inputs(wildcards)
        assert inputs["content"] == f"results/inputs/contents/{sweep.runs.loc[declared[0], 'content']}.png"
    rules = {rule for rule, _, _ in jobs}
    assert {r for r in rules if r.startswith("transfer")} == (
        set() if not runs else {"transfer_pair" if axes["pair_jobs"] and not axes["sheet"] else "transfer"})
    if axes["pair_jobs"] and axes["images"] and not axes["sheet"]:  # one job per pair and mask set
        assert len(transfers) == 4 + (4 if axes["masks"] else 0)
    video_jobs = sorted(w["run"] for rule, w, _ in jobs if rule == "video_transfer")
    assert video_jobs == sorted(videos)
    made_anywhere = {path for _, _, outputs in jobs for path in outputs}
    assert {f"results/runs/{r}/{r}.png" for r in runs} | {f"results/videos/{r}/{r}.mp4" for r in videos} \
        | {"results/summary.csv"} <= made_anywhere


def test_an_unknown_term_or_a_weight_the_engine_refuses_is_one_line_at_parse_time(tmp_path):
    config = sweep_config(tmp_path, dict.fromkeys(AXES, False) | {"images": True})
    config["weights"] = [[0.025, 5, 1], {"styel": 5}]
    with pytest.raises(ConfigProblem, match=r"^config weights, entry 2: no loss term named 'styel'; known: content, "
                                            r"style, tv, temporal"):
        Sweep(validated(config), config["nst"])
    config["weights"] = [[0.025, 5, 1]]
    config["nst"]["terms"] = {"sharpness": 1}
    with pytest.raises(ConfigProblem, match="^config key nst.terms: no loss term named 'sharpness'"):
        Sweep(validated(config), config["nst"])
    config["nst"].update(plugins=["mean_colour_term"], terms={"mean_colour": 1})  # a plugin's term
    assert Sweep(validated(config), config["nst"]).settings.terms == {"mean_colour": 1}
    config["nst"]["plugins"] = ["no_such_module"]
    with pytest.raises(ConfigProblem, match="^config key nst.plugins: cannot import 'no_such_module'"):
        Sweep(validated(config), config["nst"])


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"nst": {"iteration": 2}}, "config key nst: unknown key 'iteration' (did you mean 'iterations'?)"),
        ({"nst": {"precision": "float16"}},
         "config key nst.precision: 'float16' is not one of auto, float32, tf32, bfloat16 (did you mean 'bfloat16'?)"),
        ({"nst": {"iterations": "ten"}}, "config key nst.iterations: must be a whole number, got 'ten'"),
        ({"nst": {"style_layers": "block1_conv1"}}, "config key nst.style_layers: must be a list, got 'block1_conv1'"),
        ({"video": {"stepp": 2}}, "config key video: unknown key 'stepp' (did you mean 'step'?)"),
        ({"color_transfers": ["histogramm"]},
         "config key color_transfers, entry 1: 'histogramm' is not one of none, histogram, "),
        ({"gif_size": 8}, "config key gif_size: 8 is less than the minimum of 32"),
        ({"styles": {"wave": {"url": "https://example.org/wave.jpg"}}},
         "config key styles.wave: 'sha256' is a required property"),
        ({"contents": {"cat": 5}}, "config key contents.cat: must be a local path (relative to the working "
                                   "directory), or a URL with its sha256, got 5"),
    ],
)
def test_a_config_the_schema_refuses_is_one_line_naming_the_key(tmp_path, change, expected):
    from nst.workflow.sweep import check

    config = sweep_config(tmp_path, dict.fromkeys(AXES, False) | {"images": True}) | change
    with pytest.raises(ConfigProblem) as refused:
        check(config, [], ROOT / "workflow/schemas/config.schema.yaml")
    assert str(refused.value).startswith(expected) and str(refused.value).endswith("(config/README.md)")
    assert "\n" not in str(refused.value)


def test_a_layer_the_network_lacks_stops_the_sweep_at_parse_time(tmp_path):
    config = sweep_config(tmp_path, dict.fromkeys(AXES, False) | {"images": True})
    config["nst"]["content_layers"] = ["block9_conv1"]
    with pytest.raises(ConfigProblem, match=r"^config key nst.content_layers: vgg\d\d has no layer 'block9_conv1'"):
        Sweep(validated(config), config["nst"])


def test_the_old_name_of_pair_jobs_is_read_with_a_notice(tmp_path):
    from nst.workflow.sweep import renamed_keys

    config = {"batch_triples": False}
    assert renamed_keys(config) == ["notice: config key 'batch_triples' is now called 'pair_jobs'; read as "
                                    "pair_jobs: False"]
    assert config == {"pair_jobs": False}
    with pytest.raises(ConfigProblem, match="give only 'pair_jobs'"):
        renamed_keys({"batch_triples": False, "pair_jobs": True})


# --- for real: every axis at once, then the README's example ------------------------------------


@pytest.fixture(scope="module")
def all_axes(tmp_path_factory):
    """Every axis, each at its smallest: one weights entry by name (with the plugin's term), two colour
    modes, one mask set of two regions listing one content of two, a clip of three frames; on the PyTorch
    backend (`nst: {backend: torch}`) with TensorFlow absent from every process, Snakemake's included
    (the other sweeps of the suite run on TensorFlow)."""
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("all_axes")
    axes = dict.fromkeys(AXES, True) | {"sheet": False}
    config = sweep_config(folder, axes)
    config["weights"] = config["weights"][:1]
    config["nst"]["backend"] = "torch"
    del config["mask_sets"]["face"]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = without("tensorflow", folder / "hide")
    env["PYTHONPATH"] = os.pathsep.join((env["PYTHONPATH"], str(PLUGINS)))
    snakemake(folder, "--cores", "2", "--configfile", path, env=env)
    expected = {run for run in expected_runs(axes) if "mean_colour_100" in run and not run.endswith("_mask_face")}
    return folder, expected


def test_a_tiny_sweep_with_every_axis_at_once_runs_and_each_run_is_what_its_name_says(all_axes):
    folder, expected = all_axes
    assert len(expected) == 2 * 2 * 2 + 2 * 2 + 2 * 2  # images x styles x colours, chelsea's masked, clips
    made = {p.name for p in (folder / "results/runs").iterdir()} | {
        p.name for p in (folder / "results/videos").iterdir() if p.name not in ("inputs", "motion")}
    assert made == expected
    for run in expected:
        video = "temporal" in run
        record = json.loads((folder / "results" / ("videos" if video else "runs") / run / "run.json").read_text())
        settings = record["settings"]
        assert (settings["style_weight"], settings["terms"]["mean_colour"]) == (5.0, 100.0)
        assert settings["color_transfer"] == ("histogram" if "_color_histogram" in run else "none")
        assert len(settings["style_masks"]) == (2 if run.endswith("_mask_two") else 1 if "_mask_face" in run else 0)
        if run.endswith("_mask_two"):  # the second region's own style comes after the run's
            assert [Path(s).name for s in record["styles"]] == [f"{run.split('_s_')[1].split('_')[0]}.png",
                                                                "mosaic.png"]
        assert settings["terms"].get("temporal") == (50.0 if video else None)
        assert record["backend"] == "torch"
    with open(folder / "results/summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["run"] for r in rows} == expected
    assert {(r["run"], r["mask_set"], r["color_transfer"]) for r in rows if "temporal" not in r["run"]} == {
        (run, "two" if run.endswith("_mask_two") else "face" if "_mask_face" in run else "none",
         "histogram" if "_color_histogram" in run else "none") for run in expected if "temporal" not in run}
    assert all(float(r["mean_colour_loss"]) > 0 for r in rows)
    variant = "cw_0.025_sw_5_tvw_1_mean_colour_100"
    for picture in ("galleries/chelsea.png", "galleries/coffee.png", "grids/by_pair/c_chelsea_s_strokes.png",
                    f"grids/by_weights/{variant}_color_histogram_mask_two.png", "gifs/sweeps/c_coffee_s_mosaic.gif",
                    "plots/sweep.png", f"videos/c_pan_s_mosaic_{variant.replace('tvw_1', 'tvw_1_temporal_50')}"
                    f"_color_histogram/preview.gif"):
        assert (folder / "results" / picture).is_file(), picture
    logs = sorted(p.name for p in (folder / "results/logs/transfer").glob("*.log"))
    assert logs == sorted(f"c_{c}_s_{s}{m}.log" for c, s in itertools.product(("chelsea", "coffee"), ("strokes", "mosaic"))
                          for m in (["", "_mask_two"] if c == "chelsea" else [""]))  # a job per pair and mask set


def readme_example() -> dict:
    """The config the README shows first (`# my.yaml`), as a user would copy it."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n# my\.yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)


def test_the_readmes_example_config_runs(tmp_path, article):
    """Its files are put where it names them (the project's images; the wave from the article's mirror),
    and it runs as written, only smaller and shorter: 48 px, one weights entry, two evaluations."""
    config = readme_example()
    for kind in ("contents", "styles"):
        for name, source in config[kind].items():
            if isinstance(source, str):
                target = tmp_path / source
                target.parent.mkdir(parents=True, exist_ok=True)
                picture = {"cat": "content/chelsea.png", "me": "content/coffee.png", "ink": "styles/mosaic.png"}[name]
                Image.open(DATA / picture).convert("RGB").save(target)
    for entries in config["mask_sets"].values():
        for entry in entries["me"]:
            path = tmp_path / (entry if isinstance(entry, str) else entry["mask"])
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(DATA / ("masks/chelsea_face.png" if "face" in path.name else "masks/chelsea_surround.png"),
                        path)
    config.update(size=48, mirror=str(article), weights=config["weights"][-1:], grid_cell=48, gif_size=48)
    config["nst"].update(iterations=1, evals_per_iteration=2, init="content")
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--cores", "2", "--configfile", path)
    runs = sorted(p.name for p in (tmp_path / "results/runs").iterdir())
    masked = [r for r in runs if "_mask_" in r]
    assert len(runs) == 2 * 2 * 2 + 2 * 2 * 2 and all(r.startswith("c_me_") for r in masked)
    assert (tmp_path / "results/galleries/me.png").is_file() and (tmp_path / "results/summary.csv").is_file()

